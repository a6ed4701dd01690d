// The group's network picture: data comes from a json_script block, text is set with textContent only.
(function () {
  "use strict";
  var colours = {
    "co-reshare": "#1f77b4", "co-link": "#ff7f0e", "co-domain": "#8c564b", "co-hashtag": "#2ca02c",
    "co-mention": "#9467bd", "co-reply": "#e377c2", "same-text": "#d62728", "similar-text": "#bcbd22",
    "same-media": "#17becf"
  };
  var data = JSON.parse(document.getElementById("network-data").textContent);
  var container = document.getElementById("network");
  var tip = document.getElementById("network-tip");
  if (!container || typeof cytoscape === "undefined") { return; }
  var elements = data.nodes.map(function (n) { return { group: "nodes", data: n }; }).concat(
    data.edges.map(function (e) { return { group: "edges", data: e }; }));
  var cy = cytoscape({
    container: container,
    elements: elements,
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: {
        "label": "data(label)", "font-size": 8, "width": "mapData(score, 0, 1, 8, 22)",
        "height": "mapData(score, 0, 1, 8, 22)", "background-color": "#417690", "text-valign": "bottom",
        "text-margin-y": 3 } },
      { selector: "node[?flagged]", style: { "border-width": 2, "border-color": "#b71c1c" } },
      { selector: "edge", style: {
        "width": "mapData(weight, 1, 200, 1, 5)", "line-color": function (e) { return colours[e.data("behaviour")] || "#999"; },
        "opacity": 0.35, "curve-style": "haystack" } }
    ],
    layout: data.nodes.length > 40
      ? { name: "cose", animate: false, randomize: false, nodeRepulsion: 400000, idealEdgeLength: 120 }
      : { name: "circle", animate: false, padding: 30 }
  });
  function show(evt, text) {
    tip.textContent = text;
    tip.hidden = false;
    var p = evt.originalEvent || {};
    tip.style.left = ((p.clientX || 0) + 12) + "px";
    tip.style.top = ((p.clientY || 0) + 12) + "px";
  }
  cy.on("mouseover", "node", function (evt) {
    var d = evt.target.data();
    show(evt, d.label + " (" + d.platform + ")\nscore " + d.score + (d.flagged ? ", flagged" : "") + "\n" + d.reasons);
  });
  cy.on("mouseover", "edge", function (evt) {
    var d = evt.target.data();
    show(evt, d.behaviour + ": " + d.weight + " co-actions, " + d.expected + " expected by chance" +
      (d.median_dt !== null ? ", median " + d.median_dt + " s apart" : ""));
  });
  cy.on("mouseout", "node, edge", function () { tip.hidden = true; });
  window.trackerNetwork = cy;
}());
