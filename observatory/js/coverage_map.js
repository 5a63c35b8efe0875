// The « Couverture » map in the browser. observatory/coverage_map.py inserts this once into the map's
// script with the outlines of a register (départements, every CPTS, DROM insets, place labels); the page
// then changes the date, the area, the selection and the search focus by calling
// window.observatoire.apply(view) (streamlit-folium's dynamic update): the outlines are never sent again.
//
// Every text in `data` and in a view is already HTML-escaped on the Python side (tooltips are HTML).
(function () {
  var map = __MAP__;
  var data = __DATA__;
  var furniture = window.observatoireFurniture;

  function ring(deltas, steps) {
    var x = 0, y = 0, out = new Array(deltas.length / 2);
    for (var i = 0; i < deltas.length; i += 2) {
      x += deltas[i];
      y += deltas[i + 1];
      out[i / 2] = [y / steps, x / steps];
    }
    return out;
  }

  function latLngs(polygons, steps) {
    return polygons.map(function (rings) { return rings.map(function (r) { return ring(r, steps); }); });
  }

  var renderer = L.canvas({padding: 0.2});

  function makeLayer(feature, steps, options) {
    var layer = L.polygon(latLngs(feature.g, steps), L.extend({renderer: renderer, smoothFactor: 0.5}, options));
    layer.feature = {type: 'Feature', id: feature.id, properties: feature.p};
    return layer;
  }

  function rows(pairs) {
    return pairs.filter(function (p) { return p[1] !== null && p[1] !== undefined && p[1] !== ''; })
      .map(function (p) { return '<tr><th>' + p[0] + '</th><td>' + p[1] + '</td></tr>'; }).join('');
  }

  function tooltip(html) {
    return '<table class="observatoire-tip">' + html + '</table>';
  }

  var T = data.texts;
  var TIP = {sticky: true, direction: 'auto', className: 'observatoire-tooltip', opacity: 0.97};
  var view = {};
  var lastFit = null;

  // Départements: the base (white zone colour; grey « hors registre »; pale outside the area shown).
  var departements = L.featureGroup().addTo(map);
  var deptLayers = {};
  data.departements.forEach(function (f) {
    var layer = makeLayer(f, data.steps, {fillColor: T.white_zone_color, fillOpacity: 1, color: T.outline_color,
      weight: 0.8});
    layer.bindTooltip(function () {
      var figures = (view.departements || {})[f.id];
      return tooltip(rows([[T.departement, f.p.label]].concat(figures ? [[T.cpts, figures[0]],
        [T.covered, figures[1]], [T.white, figures[2]]] : [])));
    }, TIP);
    deptLayers[f.id] = layer;
    departements.addLayer(layer);
  });

  // Every CPTS of the register; those not active at the date (or outside the area) are hidden.
  var cpts = L.featureGroup().addTo(map);
  var cptsLayers = {};
  data.cpts.forEach(function (f) {
    var layer = makeLayer(f, data.steps, {fillOpacity: 0, stroke: false, interactive: false});
    layer.bindTooltip(function () {
      var at = (view.cpts || {})[f.id];
      var stage = at ? view.stages[at[0]][0] : T.not_started;
      return tooltip(rows([[T.cpts, f.p.cpts_name], [T.stage, stage], [T.population, f.p.population],
        [T.communes, f.p.communes], [T.departements, f.p.departements], [T.size, T.sizes[f.p.size] || '—']]));
    }, TIP);
    cptsLayers[f.id] = layer;
    cpts.addLayer(layer);
  });

  // Inset frames (DROM), drawn once.
  data.insets.forEach(function (box) {
    L.rectangle([[box[0], box[1]], [box[2], box[3]]], {renderer: renderer, interactive: false, fill: false,
      color: '#9e9e9e', weight: 1, dashArray: '3 3'}).addTo(map);
  });

  var overlays = L.featureGroup().addTo(map);

  function overlayGroup(features, steps, style, tip) {
    features.forEach(function (f) {
      var layer = makeLayer(f, steps, style(f));
      layer.bindTooltip(function () { return tooltip(rows(tip(f))); }, TIP);
      overlays.addLayer(layer);
    });
  }

  function outline(encoded, steps, options) {
    if (!encoded) {
      return;
    }
    overlays.addLayer(L.polygon(latLngs(encoded, steps), L.extend({renderer: renderer, interactive: false,
      fill: false}, options)));
  }

  function styleAll() {
    var inArea = view.area_departements ? new Set(view.area_departements) : null;
    var outside = new Set(view.outside_departements || []);
    Object.keys(deptLayers).forEach(function (code) {
      var layer = deptLayers[code], shown = !inArea || inArea.has(code);
      layer.options.interactive = shown;
      layer.setStyle({
        fillColor: !shown ? T.faded_color : (outside.has(code) ? T.out_of_register_color : T.white_zone_color),
        fillOpacity: 1, color: shown ? T.outline_color : '#d9d9d9', weight: shown ? 0.8 : 0.4
      });
    });
    Object.keys(cptsLayers).forEach(function (id) {
      var layer = cptsLayers[id], at = view.show_cpts ? (view.cpts || {})[id] : null;
      var selected = at && id === view.selected;
      layer.options.interactive = !!at;
      layer.setStyle(at ? {fillColor: view.stages[at[0]][1], fillOpacity: 0.9, stroke: true,
        color: selected ? T.selected_color : '#ffffff', weight: selected ? 4 : 0.7, opacity: 1}
        : {fillOpacity: 0, stroke: false});
      if (selected) { layer.bringToFront(); }
    });
  }

  function apply(next) {
    view = next;
    styleAll();
    overlays.clearLayers();
    overlayGroup(next.overlaps || [], next.steps, function () {
      return {fillColor: T.overlap_color, fillOpacity: 0.55, color: T.overlap_color, weight: 1.5, dashArray: '4 3'};
    }, function (f) {
      return [[T.overlap_commune, f.p.unit_name], [T.cpts, f.p.cpts_text], [T.population, f.p.population_text]];
    });
    overlayGroup(next.communes || [], next.steps, function (f) {
      var selected = next.selected && f.p.cpts_ids && f.p.cpts_ids.split(' ').indexOf(next.selected) >= 0;
      return {fillColor: f.p.fill, fillOpacity: 0.8, color: selected ? T.selected_color : '#ffffff',
        weight: selected ? 1.5 : 0.5};
    }, function (f) {
      return [[T.commune, f.p.unit_name], [T.cpts, f.p.cpts_text], [T.stage, f.p.stage_text],
        [T.population, f.p.population_text], [T.status, f.p.status_text]];
    });
    outline(next.selected_outline, next.steps, {color: T.selected_color, weight: 4});
    if (next.focus) {
      outline(next.focus.g, next.steps, {color: T.focus_color, weight: 3, dashArray: '6 4'});
    }
    // In a région or a département, only its own places are named (the faded surroundings are context).
    var named = next.area_departements ? new Set(next.area_departements) : null;
    furniture.setLabels(map, data.labels.filter(function (l) { return !named || named.has(l[5]); })
      .concat(next.labels || []));
    // What is drawn, for tests and benchmarks (which view, when).
    window.observatoireDrawn = {as_of: next.as_of, fit_key: next.fit_key, selected: next.selected,
                                at: performance.now(), count: ((window.observatoireDrawn || {}).count || 0) + 1};
    if (next.fit_key !== lastFit) {
      lastFit = next.fit_key;
      if (next.bounds) {
        furniture.fit(map, next.bounds, next.controls_free);
      }
    }
  }

  window.observatoire = {apply: apply, map: map};
  if (data.initial) {
    apply(data.initial);  // a map drawn once (no dynamic update): its view is in the script
  }
})();
