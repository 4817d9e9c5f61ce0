"""Steps and progress bars of the backup and restore commands, on the terminal."""

from tqdm import tqdm


class Progress:
    """`step(message)` prints a line; `bar(label, total)` returns a callback moving a tqdm bar,
    drawn on stderr only when it is a terminal."""

    def __init__(self, command, verbosity: int):
        self.command = command
        self.verbosity = verbosity
        self.current = None

    def step(self, message: str) -> None:
        self.close()
        if self.verbosity:
            self.command.stdout.write(message)

    def bar(self, label: str, total: int):
        self.close()
        self.current = tqdm(
            total=total,
            desc=label,
            unit="",
            file=getattr(self.command.stderr, "_out", self.command.stderr),
            disable=None if self.verbosity else True,
        )
        bar = self.current

        def advance(done: int) -> None:
            bar.update(done - bar.n)

        return advance

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None
