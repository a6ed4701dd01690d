// Network pictures of the triage pages: a group's accounts (#network[data-mode=group]) or all groups of a run
// (#network[data-mode=run]). Data comes from the json_script block #network-data; text is set with textContent only.
(function () {
  "use strict";
  var BEHAVIOUR_COLOURS = {
    "co-reshare": "#1f77b4", "co-link": "#ff7f0e", "co-domain": "#8c564b", "co-hashtag": "#2ca02c",
    "co-mention": "#9467bd", "co-reply": "#e377c2", "same-text": "#d62728", "similar-text": "#bcbd22",
    "same-media": "#17becf"
  };
  var GROUP_COLOURS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"
  ];
  var NEUTRAL = "#6b7280";
  var LABEL_PX = 12;

  var dataNode = document.getElementById("network-data");
  var container = document.getElementById("network");
  if (!dataNode || !container || typeof cytoscape === "undefined") { return; }
  var data = JSON.parse(dataNode.textContent);
  var runMode = container.getAttribute("data-mode") === "run";
  var tip = document.getElementById("network-tip");
  var selectionPanel = document.getElementById("selection");
  var evidenceRows = Array.prototype.slice.call(document.querySelectorAll("#evidence tbody tr[data-pair]"));
  var filterBar = document.getElementById("evidence-filter");
  var active = {};
  (data.behaviours || []).forEach(function (b) { active[b] = true; });

  var labelOf = {};
  data.nodes.forEach(function (n) { labelOf[n.id] = n.label; });
  var groupIndex = {};
  var groupOf = {};
  (data.groups || []).forEach(function (g, i) { groupIndex[g.number] = i; groupOf[g.number] = g; });
  var maxWeight = data.edges.reduce(function (m, e) { return Math.max(m, e.weight); }, 1);

  function edgeWidth(weight) { return 1.5 + 6.5 * Math.sqrt(weight / maxWeight); }

  function shownBehaviours(edge) {
    if (runMode) { return edge.behaviours; }
    return edge.behaviours.filter(function (b) { return active[b.behaviour]; });
  }

  function edgeLook(edge) {
    var shown = shownBehaviours(edge);
    var weight = shown.reduce(function (s, b) { return s + b.weight; }, 0);
    return {
      width: edgeWidth(Math.max(weight, 1)),
      colour: runMode || !shown.length ? NEUTRAL : (BEHAVIOUR_COLOURS[shown[0].behaviour] || NEUTRAL),
      shown: shown.length > 0
    };
  }

  var elements = data.nodes.map(function (n) {
    var colour = runMode ? GROUP_COLOURS[(groupIndex[n.group] || 0) % GROUP_COLOURS.length] : "#417690";
    return { group: "nodes", data: Object.assign({}, n, { colour: colour }) };
  }).concat(data.edges.map(function (e) {
    var look = edgeLook(e);
    return { group: "edges", data: Object.assign({}, e, { width: look.width, colour: look.colour }) };
  }));

  var nodeStyle = {
    "label": "data(label)", "font-size": LABEL_PX, "color": "#111827",
    "text-valign": "bottom", "text-margin-y": 4, "text-background-color": "#ffffff",
    "text-background-opacity": 0.85, "text-background-padding": 2, "text-background-shape": "roundrectangle",
    "width": "mapData(score, 0, 1, 14, 34)", "height": "mapData(score, 0, 1, 14, 34)",
    "background-color": "data(colour)", "border-width": 1, "border-color": "#ffffff"
  };
  // A large picture hides the labels until zoomed in; a small one grows them as it zooms out (keepLabelsReadable).
  var manyNodes = data.nodes.length > 150;
  if (manyNodes) { nodeStyle["min-zoomed-font-size"] = 11; }
  var cy = cytoscape({
    container: container,
    elements: elements,
    wheelSensitivity: 0.3,
    minZoom: 0.05,
    maxZoom: 6,
    style: [
      { selector: "node", style: nodeStyle },
      { selector: "node[?flagged]", style: { "border-width": 3, "border-color": "#b71c1c" } },
      { selector: "node[?leader]", style: {
        "shape": "diamond", "width": 42, "height": 42, "border-width": 4, "border-color": "#111827",
        "font-weight": "bold", "z-index": 20 } },
      { selector: "edge", style: {
        "width": "data(width)", "line-color": "data(colour)", "opacity": runMode || data.edges.length > 150 ? 0.4 : 0.65,
        "curve-style": runMode ? "haystack" : "straight" } },
      { selector: ".filtered-out", style: { "display": "none" } },
      { selector: ".dimmed", style: { "opacity": 0.12 } },
      { selector: "node.picked", style: { "border-width": 5, "border-color": "#f59e0b" } },
      { selector: "edge.picked", style: { "opacity": 1, "z-index": 30, "underlay-color": "#f59e0b",
        "underlay-opacity": 0.5, "underlay-padding": 3 } }
    ]
  });
  // cytoscape-fcose registers itself with the global cytoscape when its script loads.
  var fcose = typeof cytoscapeFcose !== "undefined";
  cy.layout(fcose ? {
    name: "fcose", quality: "default", randomize: true, animate: false, padding: 30, packComponents: true,
    nodeRepulsion: manyNodes ? 6000 : 20000, idealEdgeLength: manyNodes ? 60 : 140, nodeSeparation: 100,
    edgeElasticity: 0.3, numIter: 2500
  } : { name: "cose", animate: false, padding: 30 }).run();

  // The admin's layout may still change the container's size after this script ran (fonts, the sidebar): fit the
  // picture to the container again whenever its size changes, until the reader pans or zooms it.
  var touched = false;
  cy.on("scrollzoom pinchzoom dragpan", function () { touched = true; });
  function refit() {
    cy.resize();
    if (!touched) { cy.fit(undefined, 30); }
  }
  if (typeof ResizeObserver !== "undefined") { new ResizeObserver(refit).observe(container); }
  window.addEventListener("load", refit);
  refit();

  // Labels stay readable when the picture is zoomed out to fit: their size grows as the zoom shrinks.
  function keepLabelsReadable() {
    if (manyNodes) { return; }
    var size = LABEL_PX / Math.min(1, cy.zoom());
    cy.nodes().style("font-size", size);  // per element, so that each label's size is measured again
  }
  keepLabelsReadable();
  cy.on("zoom", keepLabelsReadable);

  function show(evt, text) {
    if (!tip) { return; }
    tip.textContent = text;
    tip.hidden = false;
    var p = evt.originalEvent || {};
    tip.style.left = ((p.clientX || 0) + 12) + "px";
    tip.style.top = ((p.clientY || 0) + 12) + "px";
  }

  function nodeText(d) {
    var lines = [d.label + " (" + d.platform + "), score " + d.score + (d.flagged ? ", flagged" : "")];
    if (runMode) {
      var g = groupOf[d.group];
      lines.push("group " + d.group + (g ? ", score " + g.score + ", " + g.size + " accounts" : ""));
    } else {
      lines.push("acts first " + d.lead + " times, follows " + d.follow + " times in this group");
      if (d.reasons) { lines.push(d.reasons); }
    }
    if (d.leader) { lines.push("leader of the group"); }
    return lines.join("\n");
  }

  function edgeText(d) {
    var a = labelOf[d.source], b = labelOf[d.target];
    var lines = [a + " and " + b + ": " + d.weight + " co-actions"];
    d.behaviours.forEach(function (x) {
      lines.push("  " + x.behaviour + ": " + x.weight + " (" + x.expected + " expected by chance" +
        (x.median_dt !== null ? ", median lag " + x.median_dt + " s" : "") + ")");
    });
    lines.push(a + " posted first " + d.source_first + " times, " + b + " " + d.target_first + " times");
    return lines.join("\n");
  }

  cy.on("mouseover", "node", function (evt) { show(evt, nodeText(evt.target.data())); });
  cy.on("mouseover", "edge", function (evt) { show(evt, edgeText(evt.target.data())); });
  cy.on("mouseout", "node, edge", function () { if (tip) { tip.hidden = true; } });

  var selection = null;

  var memberRows = Array.prototype.slice.call(document.querySelectorAll("#members tbody tr[data-account]"));

  // Shows the evidence rows of the picked account or pair and of the ticked behaviours; returns how many.
  function applyEvidenceFilter() {
    memberRows.forEach(function (row) {
      var picked = selection && selection.kind === "node" && row.getAttribute("data-account") === selection.id;
      row.classList.toggle("picked", Boolean(picked));
    });
    if (!evidenceRows.length) { return 0; }
    var shown = 0;
    evidenceRows.forEach(function (row) {
      var matches = true;
      if (selection && selection.kind === "edge") {
        matches = row.getAttribute("data-pair") === selection.id;
      } else if (selection && selection.kind === "node") {
        matches = row.getAttribute("data-accounts").split(" ").indexOf(selection.id) >= 0;
      }
      var behaviours = row.getAttribute("data-behaviours").split(" ");
      matches = matches && behaviours.some(function (b) { return active[b] !== false; });
      row.hidden = !matches;
      if (matches) { shown += 1; }
    });
    if (filterBar) {
      filterBar.hidden = !selection;
      if (selection) {
        document.getElementById("evidence-filter-label").textContent = selection.label;
        document.getElementById("evidence-filter-count").textContent =
          shown + (shown === 1 ? " post pair" : " post pairs") + (shown ? "" : " among the rows shown");
      }
    }
    return shown;
  }

  function renderSelection(ele, evidenceShown) {
    if (!selectionPanel) { return; }
    selectionPanel.textContent = "";
    if (!ele) { selectionPanel.hidden = true; return; }
    var text = document.createElement("p");
    text.className = "selection-text";
    text.textContent = ele.isNode() ? nodeText(ele.data()) : edgeText(ele.data());
    selectionPanel.appendChild(text);
    if (evidenceRows.length) {
      var jump = document.createElement("a");
      jump.href = "#evidence-filter";
      jump.textContent = "See its evidence below: " + evidenceShown + (evidenceShown === 1 ? " post pair" : " post pairs");
      selectionPanel.appendChild(jump);
    }
    if (runMode && ele.isNode() && groupOf[ele.data("group")]) {  // a URL the server reversed, not user text
      var link = document.createElement("a");
      link.href = groupOf[ele.data("group")].url;
      link.textContent = "Open group " + ele.data("group") + " for triage";
      selectionPanel.appendChild(link);
    }
    selectionPanel.hidden = false;
  }

  function pick(ele) {
    cy.elements().removeClass("picked dimmed");
    if (ele) {
      var keep = ele.isNode() ? ele.closedNeighborhood() : ele.union(ele.connectedNodes());
      cy.elements().not(keep).addClass("dimmed");
      ele.addClass("picked");
      var label = ele.isNode() ? ele.data("label") : labelOf[ele.data("source")] + " and " + labelOf[ele.data("target")];
      selection = { kind: ele.isNode() ? "node" : "edge", id: ele.id(), label: label };
    } else {
      selection = null;
    }
    window.trackerSelection = selection;
    renderSelection(ele, applyEvidenceFilter());
  }

  cy.on("tap", "node, edge", function (evt) { pick(evt.target); });
  cy.on("tap", function (evt) { if (evt.target === cy) { pick(null); } });
  var clear = document.getElementById("evidence-filter-clear");
  if (clear) { clear.addEventListener("click", function () { pick(null); }); }

  var filter = document.getElementById("behaviour-filter");
  if (filter) {
    filter.addEventListener("change", function (evt) {
      if (!evt.target || evt.target.type !== "checkbox") { return; }
      active[evt.target.value] = evt.target.checked;
      cy.batch(function () {
        cy.edges().forEach(function (edge) {
          var look = edgeLook(edge.data());
          edge.data({ width: look.width, colour: look.colour });
          if (look.shown) { edge.removeClass("filtered-out"); } else { edge.addClass("filtered-out"); }
        });
      });
      applyEvidenceFilter();
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-group-index]"), function (key) {
    key.style.background = GROUP_COLOURS[Number(key.getAttribute("data-group-index")) % GROUP_COLOURS.length];
  });
  window.trackerSelection = null;
  window.trackerNetwork = cy;
}());
