// Leaflet map of places: clustered pictogram markers from the GeoJSON API, or a single point.
// The list beside the map is rendered by the server, so nothing is lost when tiles fail.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || typeof L === "undefined") { return; }
  var status = document.querySelector("[data-map-status]");
  var icons = JSON.parse(document.getElementById(element.dataset.iconsRef).textContent);

  var map = L.map(element, { scrollWheelZoom: false }).setView([46.6, 2.4], 5);
  var tiles = L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: element.dataset.attribution });
  var failures = 0;
  tiles.on("tileerror", function () {
    failures += 1;
    if (failures === 3 && status) { status.textContent = element.dataset.tilesFailed; }
  });
  tiles.addTo(map);

  function pictogram(codes) {
    var code = (codes || []).filter(function (c) { return icons[c]; })[0] || "place";
    var html = document.createElement("span");
    html.className = "marker-picto";
    html.style.width = "32px";
    html.style.height = "32px";
    var img = document.createElement("img");
    img.src = icons[code];
    img.alt = "";
    html.appendChild(img);
    return L.divIcon({ html: html, className: "", iconSize: [32, 32], iconAnchor: [16, 16], popupAnchor: [0, -14] });
  }

  function popup(properties) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = properties.url;
    link.textContent = properties.name;
    var strong = document.createElement("strong");
    strong.appendChild(link);
    box.appendChild(strong);
    if (properties.town) {
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(properties.town +
        (properties.distance_km != null ? " · " + properties.distance_km.toFixed(1) + " km" : "")));
    }
    return box;
  }

  if (element.dataset.point) {
    var parts = element.dataset.point.split(",").map(Number);
    L.marker(parts, { icon: pictogram([]), title: element.dataset.name, keyboard: true }).addTo(map);
    map.setView(parts, 13);
    return;
  }

  var cluster = typeof L.markerClusterGroup === "function"
    ? L.markerClusterGroup({
        showCoverageOnHover: false,
        iconCreateFunction: function (c) {
          var n = c.getChildCount();
          var size = n < 10 ? 34 : n < 100 ? 40 : 48;
          return L.divIcon({ html: String(n), className: "marker-cluster-maillage", iconSize: [size, size] });
        },
      })
    : L.layerGroup();
  map.addLayer(cluster);

  fetch(element.dataset.geojson, { headers: { Accept: "application/json" } })
    .then(function (response) { return response.ok ? response.json() : { features: [] }; })
    .then(function (collection) {
      var layer = L.geoJSON(collection, {
        pointToLayer: function (feature, latlng) {
          return L.marker(latlng, { icon: pictogram(feature.properties.services), title: feature.properties.name, keyboard: true });
        },
        onEachFeature: function (feature, marker) { marker.bindPopup(popup(feature.properties)); },
      });
      cluster.addLayer(layer);
      if (collection.features.length) { map.fitBounds(layer.getBounds(), { padding: [40, 40], maxZoom: 13 }); }
    })
    .catch(function () {});
})();
