/* c2000cov map helpers (part of c2000cov, MIT licence).
 *
 * Every string that comes from input files (mast names, area names, attribute
 * values) reaches the page through textContent, never innerHTML: a name that
 * looks like an HTML tag is shown as text and never parsed as markup.
 *
 * c2k.build(data) builds the page from the JSON document the Python side
 * writes: a side panel (title, profile switcher, layer switches, legend) and
 * the Leaflet map. Per-profile layers live in theme groups; switching the
 * profile swaps each theme's content, so one switch replaces every layer.
 */
(function () {
  "use strict";
  var c2k = { layers: {}, themes: {}, map: null, profile: null, ready: false,
              tileErrors: 0 };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  c2k.el = el;

  /* Popup content: {title, head: [..], rows: [[..], ..], note: [..], noteTitle} -> DOM. */
  c2k.popup = function (p) {
    var box = el("div", "c2k-popup");
    if (p.title) { box.appendChild(el("div", "c2k-title", p.title)); }
    if (p.head || p.rows) {
      var table = el("table", "c2k-table");
      if (p.head) {
        var hr = el("tr");
        p.head.forEach(function (h) { hr.appendChild(el("th", null, h)); });
        table.appendChild(hr);
      }
      (p.rows || []).forEach(function (row) {
        var tr = el("tr");
        row.forEach(function (cell, i) {
          tr.appendChild(el(i === 0 && !p.head ? "th" : "td", null, cell));
        });
        table.appendChild(tr);
      });
      box.appendChild(table);
    }
    if (p.note && p.note.length) {
      var note = el("div", "c2k-note");
      if (p.noteTitle) { note.appendChild(el("div", "c2k-note-title", p.noteTitle)); }
      var ul = el("ul");
      [].concat(p.note).forEach(function (s) { ul.appendChild(el("li", null, s)); });
      note.appendChild(ul);
      box.appendChild(note);
    }
    return box;
  };

  /* A feature's style: its own (_s an object) or a shared one (_s a key of data.styles,
   * for layers of many alike points). */
  function styleOf(pr) {
    var s = pr._s;
    if (typeof s === "string") { return (c2k.data && c2k.data.styles || {})[s] || {}; }
    return s || {};
  }

  /* A feature's popup: its own (_p {title, rows, ...}) or a shared template
   * (_p {tpl: key of data.popups, v: [values]}: the template's title and row labels). */
  function popupOf(p) {
    if (!p.tpl) { return p; }
    var t = c2k.data.popups[p.tpl];
    return { title: t.title, rows: t.labels.map(function (l, i) { return [l, p.v[i]]; }) };
  }

  /* A GeoJSON layer whose features carry their own style (_s), tooltip text (_t)
   * and popup content (_p). Points become circle markers, or name labels (name). */
  c2k.geojson = function (data, opts) {
    opts = opts || {};
    var interactive = opts.interactive !== false;
    var layer = L.geoJSON(data, {
      interactive: interactive,
      pane: opts.pane || "overlayPane",
      style: function (f) { return styleOf(f.properties); },
      pointToLayer: function (f, latlng) {
        if (f.properties.name !== undefined) {
          var icon = L.divIcon({ className: "c2k-place", html: "", iconSize: null });
          var m = L.marker(latlng, { icon: icon, interactive: false, keyboard: false });
          m.on("add", function () {
            var span = el("span", "c2k-place-name", f.properties.name);
            m.getElement().appendChild(span);
          });
          return m;
        }
        var s = Object.assign({ interactive: interactive, pane: opts.pane || "overlayPane" },
                              styleOf(f.properties));
        return L.circleMarker(latlng, s);
      },
      onEachFeature: function (f, lyr) {
        var pr = f.properties;
        if (!interactive || styleOf(pr).interactive === false) { return; }
        if (pr._t !== undefined && pr._t !== null) {
          lyr.bindTooltip(function () { return el("span", "c2k-tip", pr._t); },
                          { sticky: f.geometry.type !== "Point" });
        }
        if (pr._p) {
          /* never wider than the map (a phone is 390 px wide) */
          /* and never taller: long content scrolls inside the popup, which autopan
           * keeps clear of the scale bar at the bottom */
          var size = c2k.map ? c2k.map.getSize() : { x: 440, y: 900 };
          var width = Math.min(360, size.x - 80);
          lyr.bindPopup(function () { return c2k.popup(popupOf(pr._p)); },
                        { maxWidth: width, minWidth: Math.min(200, width),
                          maxHeight: Math.max(200, size.y - 120),
                          autoPanPaddingTopLeft: [12, 12], autoPanPaddingBottomRight: [12, 40] });
        }
      }
    });
    if (opts.key) { c2k.layers[opts.key] = layer; }
    return layer;
  };

  function swatch(colour, shape) {
    var s = el("span", "c2k-sw c2k-sw-" + shape);
    if (shape === "box") { s.style.background = colour; }
    else if (shape === "dot") { s.style.background = colour; s.style.borderRadius = "50%"; }
    else {
      s.style.background = "transparent";
      s.style.borderTop = "3px " + (colour.style || "solid") + " " + (colour.colour || colour);
    }
    return s;
  }

  function legend(data, box) {
    box.textContent = "";
    data.legend.forEach(function (sec) {
      if (sec.profile && sec.profile !== c2k.profile) { return; }
      var th = sec.theme && c2k.themes[sec.theme];
      if (th && !c2k.map.hasLayer(th.group)) { return; }  /* only what is drawn */
      var d = el("div", "c2k-legsec");
      d.appendChild(el("div", "c2k-sec", sec.title));
      sec.items.forEach(function (it) {
        var row = el("div", "c2k-item");
        row.appendChild(swatch(it[0], it[2]));
        row.appendChild(el("span", "c2k-item-label", it[1]));
        if (it[3]) { row.setAttribute("data-key", it[3]); }
        d.appendChild(row);
      });
      box.appendChild(d);
    });
  }

  c2k.setProfile = function (key) {
    c2k.profile = key;
    Object.keys(c2k.themes).forEach(function (id) {
      var t = c2k.themes[id];
      if (!t.perProfile) { return; }
      t.group.clearLayers();
      var lyr = t.perProfile[key];
      if (lyr) { t.group.addLayer(lyr); }
    });
    var sel = document.getElementById("c2k-profile");
    if (sel && sel.value !== key) { sel.value = key; }
    legend(c2k.data, document.getElementById("c2k-legend"));
    var cov = c2k.data.profiles.filter(function (p) { return p.key === key; })[0];
    var line = document.getElementById("c2k-covered");
    if (line && cov) { line.textContent = cov.summary || ""; }
  };

  c2k.setTheme = function (id, on) {
    var t = c2k.themes[id];
    if (!t) { return; }
    if (on && !c2k.map.hasLayer(t.group)) { t.group.addTo(c2k.map); }
    if (!on && c2k.map.hasLayer(t.group)) { c2k.map.removeLayer(t.group); }
    var box = document.getElementById("c2k-theme-" + id);
    if (box) { box.checked = on; }
    legend(c2k.data, document.getElementById("c2k-legend"));
  };

  function panel(data) {
    var p = document.getElementById("c2k-panel");
    var head = el("div", "c2k-head");
    head.id = "c2k-title";
    if (data.publicNotice) {
      var pub = el("div", "c2k-public", data.publicNotice);
      pub.id = "c2k-public-notice";
      head.appendChild(pub);
    }
    head.appendChild(el("div", "c2k-h1", data.title));
    data.subtitle.forEach(function (s) { head.appendChild(el("div", "c2k-sub", s)); });
    var covered = el("div", "c2k-sub c2k-covered");
    covered.id = "c2k-covered";
    head.appendChild(covered);
    var lab = el("label", "c2k-proflabel", data.t.profile + " ");
    var sel = el("select");
    sel.id = "c2k-profile";
    data.profiles.forEach(function (pr) {
      var o = el("option", null, pr.label);
      o.value = pr.key;
      sel.appendChild(o);
    });
    sel.addEventListener("change", function () { c2k.setProfile(sel.value); });
    lab.appendChild(sel);
    head.appendChild(lab);
    if (data.basemap) {
      /* in the header, which no layout hides */
      var offline = el("div", "c2k-offline", data.t.offline);
      offline.id = "c2k-offline";
      offline.hidden = true;
      offline.setAttribute("role", "status");
      head.appendChild(offline);
    }
    var toggle = el("button", "c2k-toggle", data.t.panel);
    toggle.id = "c2k-toggle";
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", function () { c2k.openDrawer(!document.body.classList.contains("c2k-open")); });
    head.appendChild(toggle);
    p.appendChild(head);

    var drawer = el("div", "c2k-drawer");
    drawer.id = "c2k-drawer";
    var close = el("button", "c2k-close", data.t.close);
    close.type = "button";
    close.addEventListener("click", function () { c2k.openDrawer(false); });
    drawer.appendChild(close);
    drawer.appendChild(el("div", "c2k-sec", data.t.layers));
    var list = el("div", "c2k-themes");
    list.id = "c2k-layers";
    data.themes.forEach(function (th) {
      var row = el("label", "c2k-theme");
      var box = el("input");
      box.type = "checkbox";
      box.id = "c2k-theme-" + th.id;
      box.checked = !!th.on;
      box.addEventListener("change", function () { c2k.setTheme(th.id, box.checked); });
      row.appendChild(box);
      row.appendChild(el("span", null, th.label));
      list.appendChild(row);
    });
    drawer.appendChild(list);
    var lg = el("div", "c2k-legend");
    lg.id = "c2k-legend";
    drawer.appendChild(el("div", "c2k-sec c2k-legtitle", data.t.legend));
    drawer.appendChild(lg);
    p.appendChild(drawer);
  }

  c2k.openDrawer = function (open) {
    document.body.classList.toggle("c2k-open", open);
    var t = document.getElementById("c2k-toggle");
    if (t) { t.setAttribute("aria-expanded", open ? "true" : "false"); }
  };

  function overlay(ov, cls, pane) {
    return L.imageOverlay(ov.png, ov.bounds, { className: "c2k-px " + cls, interactive: false,
                                               pane: pane });
  }

  c2k.build = function (data) {
    c2k.data = data;
    panel(data);
    var map = L.map("c2k-map", { zoomControl: true, preferCanvas: false, zoomSnap: 0.25 });
    c2k.map = map;
    L.control.scale({ imperial: false }).addTo(map);
    map.attributionControl.setPrefix(false);
    if (data.basemap) {
      var tiles = L.tileLayer(data.basemap.url, { attribution: data.basemap.attr,
                                                  maxZoom: data.basemap.maxZoom });
      tiles.on("tileerror", function () {
        c2k.tileErrors += 1;
        var n = document.getElementById("c2k-offline");
        if (n && n.hidden) { n.hidden = false; map.invalidateSize(); }
      });
      tiles.addTo(map);
      c2k.layers.tiles = tiles;
    }
    var statics = data.static;
    var perProfile = data.perProfile;
    data.themes.forEach(function (th, i) {
      /* one pane per theme keeps the drawing order whatever is switched when */
      var pane = "c2k-" + th.id;
      map.createPane(pane).style.zIndex = String(401 + i);
      var group = L.layerGroup();
      var t = { group: group, perProfile: null };
      if (perProfile[th.id]) {
        t.perProfile = {};
        Object.keys(perProfile[th.id]).forEach(function (prof) {
          var d = perProfile[th.id][prof];
          var lyr = d.png ? overlay(d, "c2k-" + th.id, pane)
                          : c2k.geojson(d, { key: th.id + ":" + prof, pane: pane });
          if (d.png) { c2k.layers[th.id + ":" + prof] = lyr; }
          t.perProfile[prof] = lyr;
        });
      } else if (statics[th.id]) {
        group.addLayer(c2k.geojson(statics[th.id], {
          key: th.id, pane: pane,
          interactive: ["outlines", "roads", "places"].indexOf(th.id) < 0 }));
      }
      c2k.themes[th.id] = t;
      if (th.on) { group.addTo(map); }
    });
    map.fitBounds(data.bounds, { animate: false });
    map.on("popupopen", function () { c2k.openDrawer(false); });
    c2k.setProfile(data.profiles[0].key);
    c2k.ready = true;
  };

  window.c2k = c2k;
})();
