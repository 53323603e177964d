/* c2000cov map helpers (part of c2000cov, MIT licence).
 *
 * Every string that comes from input files (mast names, area names, attribute
 * values) reaches the page through textContent, never innerHTML: a name that
 * looks like an HTML tag is shown as text and never parsed as markup.
 */
(function () {
  "use strict";
  var c2k = { layers: {}, map: null };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  c2k.el = el;

  /* Popup content: {title, head: [..], rows: [[..], ..], note} -> a DOM node. */
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
    if (p.note) { box.appendChild(el("div", "c2k-note", p.note)); }
    return box;
  };

  /* A GeoJSON layer whose features carry their own style (_s), tooltip text (_t)
   * and popup content (_p). Points become circle markers. */
  c2k.geojson = function (data, opts) {
    opts = opts || {};
    var interactive = opts.interactive !== false;
    var layer = L.geoJSON(data, {
      interactive: interactive,
      style: function (f) { return f.properties._s || {}; },
      pointToLayer: function (f, latlng) {
        var s = Object.assign({ interactive: interactive }, f.properties._s || {});
        return L.circleMarker(latlng, s);
      },
      onEachFeature: function (f, lyr) {
        var pr = f.properties;
        if (!interactive) { return; }
        if (pr._t !== undefined && pr._t !== null) {
          lyr.bindTooltip(function () { return el("span", "c2k-tip", pr._t); },
                          { sticky: f.geometry.type !== "Point" });
        }
        if (pr._p) {
          lyr.bindPopup(function () { return c2k.popup(pr._p); }, { maxWidth: 380 });
        }
      }
    });
    if (opts.key) { c2k.layers[opts.key] = layer; }
    return layer;
  };

  window.c2k = c2k;
})();
