// Progressive enhancements shared by every page. Every page works without this file.
(function () {
  "use strict";

  // Search criteria start folded on phones (results first) and unfolded on wide screens.
  if (window.matchMedia("(min-width: 56rem)").matches) {
    document.querySelectorAll("details[data-open-wide]").forEach(function (d) { d.open = true; });
  }

  // Language switcher: change on select, the button stays for people without JavaScript.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Town suggestions from the towns of our own places (no external geocoder).
  document.querySelectorAll("[data-town-input]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var near = input.form.querySelector("[data-near-input]");
    var timer = null;
    input.addEventListener("input", function () {
      if (near) { near.value = ""; }
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2 || !list) { return; }
      timer = setTimeout(function () {
        fetch("/api/v1/towns?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (towns) {
            list.replaceChildren.apply(list, towns.map(function (town) {
              var option = document.createElement("option");
              option.value = town.name;
              return option;
            }));
          })
          .catch(function () {});
      }, 200);
    });
  });

  // "Use my position": browser geolocation, only when the visitor allows it.
  document.querySelectorAll("[data-locate]").forEach(function (button) {
    if (!("geolocation" in navigator)) { return; }
    var form = button.form || button.closest("form");
    var status = form.querySelector("[data-locate-status]");
    var near = form.querySelector("[data-near-input]");
    var town = form.querySelector("[data-town-input]");
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = button.dataset.wait || "…";
      navigator.geolocation.getCurrentPosition(function (position) {
        near.value = position.coords.latitude.toFixed(5) + "," + position.coords.longitude.toFixed(5);
        if (town) { town.value = ""; }
        form.submit();
      }, function () {
        status.textContent = button.dataset.denied || "";
      }, { timeout: 10000, maximumAge: 600000 });
    });
  });
})();
