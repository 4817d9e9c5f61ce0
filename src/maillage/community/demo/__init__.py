"""The demo community exchange of the Solozère network (`maillage load_demo`): skills offered and
sought across places, the board, Murielle the mentor with Dan's and Justine's questions, POLeN's
give-box and idea box. Every part goes through its services, like the pages, and loads
idempotently: running the demo again creates nothing more."""

from .board import load_board
from .exchange import load_exchange
from .givebox import load_givebox
from .ideas import load_ideas
from .mentoring import load_mentoring


def load_demo_community(*, places: dict, people: dict) -> int:
    """`places`: the demo places by census id; `people`: the demo accounts ("manager",
    "catherine", "basile", "coordinator", "roald", "murielle"). Returns how many posts were
    created."""
    people = {**people, "resident": people.get("catherine"), "nomad": people.get("basile")}
    return (
        load_exchange(places, people)
        + load_board(places, people)
        + load_givebox(places, people)
        + load_ideas(places, people)
        + load_mentoring(places, people)
    )
