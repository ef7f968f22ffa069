// Progressive enhancement of the location step: pick a point on the city map or use the
// device's location. Without JavaScript the map stays hidden and the address is enough.
(function () {
  "use strict";
  var picker = document.querySelector("[data-map-picker]");
  if (!picker) { return; }
  var svg = picker.querySelector("[data-map]");
  var pin = picker.querySelector("[data-pin]");
  var status = picker.querySelector("[data-map-status]");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var k = parseFloat(svg.dataset.lonScale) || 1;
  picker.hidden = false;

  function show(latValue, lonValue) {
    lat.value = latValue.toFixed(6);
    lon.value = lonValue.toFixed(6);
    pin.setAttribute("cx", lonValue * k);
    pin.setAttribute("cy", -latValue);
    pin.setAttribute("visibility", "visible");
    status.textContent = status.dataset.chosen
      .replace("{lat}", lat.value).replace("{lon}", lon.value);
  }

  if (lat.value && lon.value) { show(parseFloat(lat.value), parseFloat(lon.value)); }

  svg.addEventListener("click", function (event) {
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var local = point.matrixTransform(svg.getScreenCTM().inverse());
    show(-local.y, local.x / k);
  });

  picker.querySelector("[data-use-location]").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = status.dataset.denied; return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      show(position.coords.latitude, position.coords.longitude);
    }, function () { status.textContent = status.dataset.denied; },
    { enableHighAccuracy: true, timeout: 10000 });
  });

  picker.querySelector("[data-clear-point]").addEventListener("click", function () {
    lat.value = "";
    lon.value = "";
    pin.setAttribute("visibility", "hidden");
    status.textContent = "";
  });
})();
