// What every map of the observatory needs besides its data (inserted once into each map's script by
// observatory/maps.py, offline, no library beyond Leaflet):
// - tooltips kept inside the map: a tooltip near the edge is moved back in (the map is an iframe: what
//   overflows it is cut);
// - a metric scale bar (Leaflet's default also shows miles);
// - place labels (préfectures, large towns) from the data, shown by zoom level, never on top of each other.
(function () {
  if (window.observatoireFurniture) {
    return;
  }
  var MARGIN = 4;
  var setPosition = L.Tooltip.prototype._setPosition;
  L.Tooltip.prototype._setPosition = function (pos) {
    setPosition.call(this, pos);
    var map = this._map, el = this._container;
    if (!map || !el) {
      return;
    }
    var size = map.getSize();
    var at = L.DomUtil.getPosition(el);
    var p = map.layerPointToContainerPoint(at);
    var w = el.offsetWidth, h = el.offsetHeight;
    var dx = 0, dy = 0;
    if (p.x + w > size.x - MARGIN) { dx = size.x - MARGIN - (p.x + w); }
    if (p.x + dx < MARGIN) { dx = MARGIN - p.x; }
    if (p.y + h > size.y - MARGIN) { dy = size.y - MARGIN - (p.y + h); }
    if (p.y + dy < MARGIN) { dy = MARGIN - p.y; }
    if (dx || dy) {
      L.DomUtil.setPosition(el, at.add(L.point(dx, dy)));
      L.DomUtil.addClass(el, 'observatoire-moved');
    } else {
      L.DomUtil.removeClass(el, 'observatoire-moved');
    }
  };

  // Labels: [name, lat, lon, rank, kind, département]; rank 0 = inset titles, 1 = chefs-lieux de région, 2 = préfectures
  // and large towns, 3 and 4 = towns. The list comes sorted by priority (rank, then population).
  var MIN_ZOOM = [0, 0, 6.4, 7.2, 8.4];
  var CHAR_WIDTH = 6.4, INSET_CHAR_WIDTH = 5.6, HEIGHT = 15;

  function labelLayer(map) {
    if (!map._observatoireLabels) {
      if (!map.getPane('observatoireLabels')) {
        map.createPane('observatoireLabels').style.zIndex = 640;
        map.getPane('observatoireLabels').style.pointerEvents = 'none';
      }
      map._observatoireLabels = {group: L.layerGroup().addTo(map), items: []};
      map.on('zoomend moveend', function () { placeLabels(map); });
    }
    return map._observatoireLabels;
  }

  function setLabels(map, labels) {
    var layer = labelLayer(map);
    layer.group.clearLayers();
    layer.items = labels.map(function (l) {
      var html = l[4] === 'inset' ? '<span class="nom">' + l[0] + '</span>'
                                  : '<span class="point"></span><span class="nom">' + l[0] + '</span>';
      var marker = L.marker([l[1], l[2]], {
        icon: L.divIcon({className: 'observatoire-label rang-' + l[3] + ' ' + l[4], html: html, iconSize: null}),
        interactive: false, keyboard: false, pane: 'observatoireLabels'
      });
      return {marker: marker, name: l[0], rank: l[3], kind: l[4], shown: false};
    });
    placeLabels(map);
  }

  function placeLabels(map) {
    var layer = map._observatoireLabels;
    if (!layer) {
      return;
    }
    var zoom = map.getZoom(), size = map.getSize(), taken = [];
    layer.items.forEach(function (item) {
      var show = zoom >= (MIN_ZOOM[item.rank] || 0);
      var box = null;
      if (show) {
        var p = map.latLngToContainerPoint(item.marker.getLatLng());
        var w = item.name.length * (item.kind === 'inset' ? INSET_CHAR_WIDTH : CHAR_WIDTH) + 10;
        var left = item.kind !== 'inset' && p.x + w > size.x - 4;  // near the right edge: name on the left
        box = item.kind === 'inset' ? [p.x - w / 2, p.y - HEIGHT / 2, p.x + w / 2, p.y + HEIGHT / 2]
          : left ? [p.x - w, p.y - HEIGHT / 2, p.x + 4, p.y + HEIGHT / 2] : [p.x - 4, p.y - HEIGHT / 2, p.x + w, p.y + HEIGHT / 2];
        show = box[0] >= 0 && box[2] <= size.x && box[1] >= 0 && box[3] <= size.y;
        if (show && left !== !!item.left) {
          item.left = left;
          var el = item.marker.getElement();
          if (el) { L.DomUtil[left ? 'addClass' : 'removeClass'](el, 'gauche'); }
          item.marker.options.icon.options.className = 'observatoire-label rang-' + item.rank + ' ' + item.kind
            + (left ? ' gauche' : '');
        }
        for (var i = 0; show && i < taken.length; i++) {
          var t = taken[i];
          if (box[0] < t[2] && t[0] < box[2] && box[1] < t[3] && t[1] < box[3]) {
            show = false;
          }
        }
      }
      if (show) {
        taken.push(box);
      }
      if (show !== item.shown) {
        if (show) { layer.group.addLayer(item.marker); } else { layer.group.removeLayer(item.marker); }
        item.shown = show;
      }
    });
  }

  // The top-right corner holds the scale and the zoom buttons, side by side: an area is fitted beside or
  // below them (whichever leaves it larger), so that no control covers territory. `bounds`: [south, west,
  // north, east]. With `controlsFree` the layout already leaves that corner empty (the France view: no
  // French territory north-east of Alsace).
  function fit(map, bounds, controlsFree) {
    var size = map.getSize();
    if (!size.x || !size.y) {  // the frame is not laid out yet: fit once it has a size
      setTimeout(function () { map.invalidateSize(false); fit(map, bounds, controlsFree); }, 50);
      return;
    }
    var b = L.latLngBounds([bounds[0], bounds[1]], [bounds[2], bounds[3]]);
    if (controlsFree) {
      map.fitBounds(b, {padding: [6, 6], animate: false});
      return;
    }
    var corner = map.getContainer().querySelector('.leaflet-top.leaflet-right');
    var w = corner ? corner.offsetWidth + 12 : 160, h = corner ? corner.offsetHeight + 12 : 80;
    var beside = {paddingTopLeft: [6, 6], paddingBottomRight: [w, 6], animate: false};
    var below = {paddingTopLeft: [6, h], paddingBottomRight: [6, 6], animate: false};
    var roomBeside = size.x - w - 6 > 40, roomBelow = size.y - h - 6 > 40;
    if (!roomBeside && !roomBelow) {  // a map too small for its controls' margin (never at the page's sizes)
      map.fitBounds(b, {padding: [4, 4], animate: false});
      return;
    }
    var zBeside = roomBeside ? map.getBoundsZoom(b, false, L.point(w + 6, 12)) : -Infinity;
    var zBelow = roomBelow ? map.getBoundsZoom(b, false, L.point(12, h + 6)) : -Infinity;
    map.fitBounds(b, zBeside >= zBelow ? beside : below);
  }

  function addControls(map) {
    L.control.zoom({position: 'topright', zoomInTitle: 'Zoom avant', zoomOutTitle: 'Zoom arrière'}).addTo(map);
    L.control.scale({metric: true, imperial: false, position: 'topright', maxWidth: 100}).addTo(map);
  }

  window.observatoireFurniture = {setLabels: setLabels, placeLabels: placeLabels, addControls: addControls, fit: fit};
})();
