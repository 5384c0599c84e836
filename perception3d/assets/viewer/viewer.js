// perception3d viewer: a LiDAR sweep with its boxes, drawn on a 2D canvas (no WebGL, no
// library): points are projected through a pinhole camera into a pixel buffer with a depth
// test; box, ring and frustum lines are drawn over them without anti-aliasing, so every box
// has its palette colour exactly. Written for perception3d (Apache-2.0).
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("p3d-data").textContent);
  var STYLE = DATA.style;
  var FRAMES = DATA.frames;
  var EDGES = STYLE.edges;
  var GROUND_Z = -1.73;
  var canvas = document.getElementById("view3d");
  var ctx = canvas.getContext("2d");
  var state = {
    frame: 0, colorBy: "height", fov: 55 * Math.PI / 180,
    target: [20, 0, -1.5], azimuth: 0, pitch: 0.35, distance: 40,
    layers: { points: true, gt: true, pred: true, labels: true, frustum: true, rings: true,
      image: true }
  };
  var decoded = {};
  var pending = false;

  function bytesOf(b64) {
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function pointsOf(k) {
    if (decoded[k]) return decoded[k];
    var p = FRAMES[k].points;
    var raw = bytesOf(p.xyz);
    var view = new DataView(raw.buffer);
    var xyz = new Float32Array(p.count * 3);
    for (var i = 0; i < p.count * 3; i++) xyz[i] = view.getInt16(2 * i, true) / 100;
    decoded[k] = { xyz: xyz, refl: bytesOf(p.refl), count: p.count };
    return decoded[k];
  }

  function camera(W, H) {
    var cp = Math.cos(state.pitch), sp = Math.sin(state.pitch);
    var ca = Math.cos(state.azimuth), sa = Math.sin(state.azimuth);
    var t = state.target, d = state.distance;
    var eye = [t[0] - d * cp * ca, t[1] - d * cp * sa, t[2] + d * sp];
    var f = [cp * ca, cp * sa, -sp];          // forward: from the eye to the target
    var r = [sa, -ca, 0];                      // right: forward x world up, normalised
    var dn = [f[1] * r[2] - f[2] * r[1], f[2] * r[0] - f[0] * r[2], f[0] * r[1] - f[1] * r[0]];
    return { eye: eye, f: f, r: r, dn: dn, focal: 0.5 * H / Math.tan(state.fov / 2),
      cx: W / 2, cy: H / 2 };
  }

  function toCamera(c, x, y, z) {
    var dx = x - c.eye[0], dy = y - c.eye[1], dz = z - c.eye[2];
    return [c.r[0] * dx + c.r[1] * dy + c.r[2] * dz,
      c.dn[0] * dx + c.dn[1] * dy + c.dn[2] * dz,
      c.f[0] * dx + c.f[1] * dy + c.f[2] * dz];
  }

  function pack(rgb) {
    return ((255 << 24) | (rgb[2] << 16) | (rgb[1] << 8) | rgb[0]) >>> 0;
  }

  // A segment in camera coordinates, clipped at the near plane, projected, clipped to the
  // canvas (Liang-Barsky) and drawn into the pixel buffer with a square brush.
  function drawLine(px, W, H, c, a, b, color, width) {
    var near = 0.3;
    if (a[2] < near && b[2] < near) return;
    if (a[2] < near || b[2] < near) {
      var s = (near - a[2]) / (b[2] - a[2]);
      var m = [a[0] + s * (b[0] - a[0]), a[1] + s * (b[1] - a[1]), near];
      if (a[2] < near) a = m; else b = m;
    }
    var x0 = c.focal * a[0] / a[2] + c.cx, y0 = c.focal * a[1] / a[2] + c.cy;
    var x1 = c.focal * b[0] / b[2] + c.cx, y1 = c.focal * b[1] / b[2] + c.cy;
    var dx = x1 - x0, dy = y1 - y0, t0 = 0, t1 = 1;
    var ps = [-dx, dx, -dy, dy], qs = [x0, W - 1 - x0, y0, H - 1 - y0];
    for (var i = 0; i < 4; i++) {
      if (ps[i] === 0) { if (qs[i] < 0) return; continue; }
      var r = qs[i] / ps[i];
      if (ps[i] < 0) { if (r > t1) return; if (r > t0) t0 = r; }
      else { if (r < t0) return; if (r < t1) t1 = r; }
    }
    var sx = x0 + t0 * dx, sy = y0 + t0 * dy, ex = x0 + t1 * dx, ey = y0 + t1 * dy;
    var steps = Math.max(Math.abs(ex - sx), Math.abs(ey - sy), 1);
    var value = pack(color);
    for (var k = 0; k <= steps; k++) {
      var u = Math.floor(sx + (ex - sx) * k / steps), v = Math.floor(sy + (ey - sy) * k / steps);
      for (var oy = 0; oy < width; oy++) {
        for (var ox = 0; ox < width; ox++) {
          var uu = u + ox, vv = v + oy;
          if (uu >= 0 && uu < W && vv >= 0 && vv < H) px[vv * W + uu] = value;
        }
      }
    }
  }

  function drawPoints(px, zbuf, W, H, c, frame) {
    var pts = pointsOf(state.frame), lut = STYLE.lut[state.colorBy];
    var h0 = STYLE.height_range_m[0], h1 = STYLE.height_range_m[1];
    var size = 2;
    for (var i = 0; i < pts.count; i++) {
      var x = pts.xyz[3 * i], y = pts.xyz[3 * i + 1], z = pts.xyz[3 * i + 2];
      var q = toCamera(c, x, y, z);
      if (q[2] < 0.5) continue;
      var u = Math.floor(c.focal * q[0] / q[2] + c.cx), v = Math.floor(c.focal * q[1] / q[2] + c.cy);
      if (u < 0 || v < 0 || u >= W || v >= H) continue;
      var t;
      if (state.colorBy === "height") t = (z - h0) / (h1 - h0);
      else if (state.colorBy === "reflectivity") t = pts.refl[i] / 255;
      else t = Math.sqrt(x * x + y * y + z * z) / STYLE.range_max_m;
      var j = 3 * Math.round(255 * Math.min(Math.max(t, 0), 1));
      var value = pack([lut[j], lut[j + 1], lut[j + 2]]);
      for (var oy = 0; oy < size; oy++) {
        for (var ox = 0; ox < size; ox++) {
          var uu = u + ox, vv = v + oy;
          if (uu >= W || vv >= H) continue;
          var idx = vv * W + uu;
          if (q[2] < zbuf[idx]) { zbuf[idx] = q[2]; px[idx] = value; }
        }
      }
    }
  }

  function drawOverlays(px, W, H, c, frame) {
    var k, i;
    if (state.layers.rings) {
      for (var r = 10; r <= 80; r += 10) {
        for (i = 0; i < 120; i++) {
          var a0 = 2 * Math.PI * i / 120, a1 = 2 * Math.PI * (i + 1) / 120;
          drawLine(px, W, H, c, toCamera(c, r * Math.cos(a0), r * Math.sin(a0), GROUND_Z),
            toCamera(c, r * Math.cos(a1), r * Math.sin(a1), GROUND_Z), STYLE.ring, 1);
        }
      }
    }
    if (state.layers.frustum && frame.frustum) {
      var f = frame.frustum.map(function (p) { return toCamera(c, p[0], p[1], p[2]); });
      for (k = 1; k <= 4; k++) {
        drawLine(px, W, H, c, f[0], f[k], STYLE.frustum, 1);
        drawLine(px, W, H, c, f[k], f[k % 4 + 1], STYLE.frustum, 1);
      }
    }
    frame.boxes.forEach(function (box) {
      if (!state.layers[box.kind]) return;
      var cc = box.corners.map(function (p) { return toCamera(c, p[0], p[1], p[2]); });
      EDGES.forEach(function (e) {
        drawLine(px, W, H, c, cc[e[0]], cc[e[1]], box.color, box.width);
      });
    });
  }

  function drawLabels(c, frame) {
    ctx.font = "12px sans-serif";
    ctx.textBaseline = "bottom";
    frame.boxes.forEach(function (box) {
      if (!state.layers[box.kind] || !box.label) return;
      var x = 0, y = 0, z = -1e9;
      box.corners.forEach(function (p) { x += p[0] / 8; y += p[1] / 8; z = Math.max(z, p[2]); });
      var q = toCamera(c, x, y, z + 0.3);
      if (q[2] < 0.5) return;
      var u = c.focal * q[0] / q[2] + c.cx, v = c.focal * q[1] / q[2] + c.cy;
      var w = ctx.measureText(box.label).width;
      ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
      ctx.fillRect(u - w / 2 - 2, v - 15, w + 4, 15);
      ctx.fillStyle = "rgb(" + box.color.join(",") + ")";
      ctx.fillText(box.label, u - w / 2, v);
    });
  }

  function canvasSize() {
    var W = Math.max(200, Math.floor(canvas.parentElement.clientWidth));
    var bar = document.getElementById("bar").offsetHeight;
    var H = Math.max(320, Math.min(W, window.innerHeight - bar - 4));
    if (canvas.width !== W || canvas.height !== H) { canvas.width = W; canvas.height = H; }
    return [W, H];
  }

  function render() {
    pending = false;
    var frame = FRAMES[state.frame], size = canvasSize(), W = size[0], H = size[1];
    var c = camera(W, H);
    var image = ctx.createImageData(W, H);
    var px = new Uint32Array(image.data.buffer);
    px.fill(pack(STYLE.background));
    if (state.layers.points) {
      var zbuf = new Float32Array(W * H);
      zbuf.fill(Infinity);
      drawPoints(px, zbuf, W, H, c, frame);
    }
    drawOverlays(px, W, H, c, frame);
    ctx.putImageData(image, 0, 0);
    if (state.layers.labels) drawLabels(c, frame);
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
    document.body.dataset.errors = String(window.p3dErrors.length);
    document.body.dataset.frame = frame.id;
  }

  function schedule() {
    if (!pending) { pending = true; window.requestAnimationFrame(render); }
  }

  function setView(kind) {
    var reg = FRAMES[state.frame].region;
    var size = Math.max(reg[0][1] - reg[0][0], reg[1][1] - reg[1][0]);
    state.target = [(reg[0][0] + reg[0][1]) / 2, (reg[1][0] + reg[1][1]) / 2, -1.5];
    state.azimuth = 0;
    state.pitch = kind === "top" ? 1.45 : 0.35;
    state.distance = Math.min(Math.max((kind === "top" ? 1.1 : 0.7) * size, 15), 150);
  }

  function showFrame(k) {
    state.frame = (k + FRAMES.length) % FRAMES.length;
    var frame = FRAMES[state.frame];
    document.getElementById("frame").value = String(state.frame);
    document.getElementById("summary").textContent = "frame " + frame.id + ": " + frame.summary;
    var img = document.getElementById("image");
    if (frame.image) img.src = "data:image/jpeg;base64," + frame.image;
    img.style.display = frame.image && state.layers.image ? "block" : "none";
    var legend = document.getElementById("legend");
    legend.innerHTML = "";
    frame.legend.forEach(function (entry) {
      var li = document.createElement("li");
      var sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = "rgb(" + entry[1].join(",") + ")";
      li.appendChild(sw);
      li.appendChild(document.createTextNode(entry[0]));
      legend.appendChild(li);
    });
    var p = frame.points;
    document.getElementById("pointinfo").textContent = p.count.toLocaleString("en") + " of " +
      p.total.toLocaleString("en") + " points shown (at most " +
      DATA.max_points.toLocaleString("en") + " per frame)";
  }

  function readHash() {
    // #frame=1&hide=gt,pred&color=range&view=top: the initial state (links, tests)
    var params = new URLSearchParams(window.location.hash.slice(1));
    if (params.get("frame")) state.frame = Number(params.get("frame")) || 0;
    if (params.get("color")) state.colorBy = params.get("color");
    (params.get("hide") || "").split(",").forEach(function (name) {
      if (name in state.layers) state.layers[name] = false;
    });
    return params.get("view") || "chase";
  }

  function init() {
    var view = readHash();
    var select = document.getElementById("frame");
    FRAMES.forEach(function (f, k) {
      var opt = document.createElement("option");
      opt.value = String(k);
      opt.textContent = f.id;
      select.appendChild(opt);
    });
    select.addEventListener("change", function () {
      showFrame(Number(select.value)); schedule();
    });
    document.getElementById("prev").onclick = function () { showFrame(state.frame - 1); schedule(); };
    document.getElementById("next").onclick = function () { showFrame(state.frame + 1); schedule(); };
    document.getElementById("chase").onclick = function () { setView("chase"); schedule(); };
    document.getElementById("top").onclick = function () { setView("top"); schedule(); };
    var colorBy = document.getElementById("colorby");
    colorBy.value = state.colorBy;
    colorBy.addEventListener("change", function () { state.colorBy = colorBy.value; schedule(); });
    document.querySelectorAll("#layers input").forEach(function (box) {
      box.checked = state.layers[box.dataset.layer];
      box.addEventListener("change", function () {
        state.layers[box.dataset.layer] = box.checked;
        showFrame(state.frame);
        schedule();
      });
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "ArrowLeft") { showFrame(state.frame - 1); schedule(); }
      if (e.key === "ArrowRight") { showFrame(state.frame + 1); schedule(); }
    });
    var drag = null;
    canvas.addEventListener("contextmenu", function (e) { e.preventDefault(); });
    canvas.addEventListener("pointerdown", function (e) {
      drag = { x: e.clientX, y: e.clientY, pan: e.shiftKey || e.button === 2 };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointerup", function () { drag = null; });
    canvas.addEventListener("pointermove", function (e) {
      if (!drag) return;
      var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      drag.x = e.clientX; drag.y = e.clientY;
      if (drag.pan) {
        var s = state.distance / 600, ca = Math.cos(state.azimuth), sa = Math.sin(state.azimuth);
        state.target[0] += s * (dy * ca - dx * sa);
        state.target[1] += s * (dy * sa + dx * ca);
      } else {
        state.azimuth -= dx * 0.008;
        state.pitch = Math.min(Math.max(state.pitch + dy * 0.006, 0.02), 1.55);
      }
      schedule();
    });
    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      state.distance = Math.min(Math.max(state.distance * Math.exp(e.deltaY * 0.001), 3), 300);
      schedule();
    }, { passive: false });
    window.addEventListener("resize", schedule);
    state.frame = Math.min(Math.max(state.frame, 0), FRAMES.length - 1);
    showFrame(state.frame);
    setView(view);
    render();
  }

  try {
    init();
  } catch (err) {
    window.p3dErrors.push(String(err && err.stack || err));
    document.body.dataset.errors = String(window.p3dErrors.length);
    throw err;
  }
})();
