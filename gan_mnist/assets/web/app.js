// The page's script (written by gan_mnist's export.py --web). It loads the generator (model.js:
// ONNX, base64) into ONNX Runtime Web's WebAssembly backend on one thread, then draws a grid of
// fresh digits on every click, and one digit between two noises with the slider. Nothing leaves
// the browser. window.ganPage tells a test (or a curious reader) what was drawn and when.
(function () {
  "use strict";
  var COLUMNS = 10, ROWS = 6, SCALE = 3, WALK_SCALE = 8, SIDE = 28;
  var WALK_CLASS = 7; // the walk's class when a conditional model shows every digit
  var model = window.GAN_MODEL;
  var state = window.ganPage = {
    ready: false, grids: 0, walks: 0, firstGridMs: null, lastGridMs: null, error: null,
    noise: null, labels: null, columns: COLUMNS, rows: ROWS, scale: SCALE,
  };
  var $ = function (id) { return document.getElementById(id); };
  var session = null, walkEnds = null, queue = Promise.resolve(), pendingWalk = false;

  function bytesOf(base64) {
    var text = atob(base64), out = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }

  function gunzip(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).arrayBuffer();
  }

  function uniformNoise(n) { // like training: uniform in [-1, 1]
    var z = new Float32Array(n * model.zDim);
    for (var i = 0; i < z.length; i++) z[i] = Math.random() * 2 - 1;
    return z;
  }

  function pickedClass() {
    var value = $("digit").value;
    return value === "all" ? null : parseInt(value, 10);
  }

  // uint8 digits (n * 784) for noise (n * zDim) and, for a conditional model, classes (n).
  function generate(z, labels, n) {
    var feeds = { z: new ort.Tensor("float32", z, [n, model.zDim]) };
    if (model.classes) feeds.label = new ort.Tensor("int32", Int32Array.from(labels), [n]);
    return session.run(feeds).then(function (out) { return out.digits.data; });
  }

  function paint(canvas, digits, columns, rows, scale) {
    var small = document.createElement("canvas");
    small.width = columns * SIDE;
    small.height = rows * SIDE;
    var image = small.getContext("2d").createImageData(small.width, small.height);
    for (var k = 0; k < columns * rows; k++) {
      var left = (k % columns) * SIDE, top = Math.floor(k / columns) * SIDE;
      for (var y = 0; y < SIDE; y++) {
        for (var x = 0; x < SIDE; x++) {
          var v = digits[k * SIDE * SIDE + y * SIDE + x];
          var p = ((top + y) * small.width + left + x) * 4;
          image.data[p] = image.data[p + 1] = image.data[p + 2] = v;
          image.data[p + 3] = 255;
        }
      }
    }
    small.getContext("2d").putImageData(image, 0, 0);
    var context = canvas.getContext("2d");
    context.imageSmoothingEnabled = false; // each pixel a sharp scale x scale square
    context.drawImage(small, 0, 0, small.width * scale, small.height * scale);
  }

  function later(task) { // one model run at a time
    queue = queue.then(task).catch(fail);
    return queue;
  }

  function drawGrid() {
    return later(function () {
      var n = COLUMNS * ROWS, z = uniformNoise(n), labels = null, started = performance.now();
      if (model.classes) {
        var picked = pickedClass();
        labels = [];
        for (var i = 0; i < n; i++) labels.push(picked === null ? i % COLUMNS : picked);
      }
      return generate(z, labels, n).then(function (digits) {
        paint($("grid"), digits, COLUMNS, ROWS, SCALE);
        state.noise = Array.from(z);
        state.labels = labels;
        state.grids += 1;
        state.lastGridMs = performance.now() - started;
        if (state.firstGridMs === null) state.firstGridMs = performance.now();
        walkEnds = [uniformNoise(1), uniformNoise(1)];
        report();
        return drawWalkNow();
      });
    });
  }

  function drawWalkNow() {
    var t = $("t").value / 100, a = walkEnds[0], b = walkEnds[1];
    var z = new Float32Array(model.zDim);
    for (var i = 0; i < z.length; i++) z[i] = (1 - t) * a[i] + t * b[i];
    var picked = pickedClass(), labels = [picked === null ? WALK_CLASS : picked];
    return generate(z, model.classes ? labels : null, 1).then(function (digit) {
      paint($("walk"), digit, 1, 1, WALK_SCALE);
      state.walks += 1;
      state.walkT = t;
    });
  }

  function drawWalk() { // slider moves come fast: run only the newest position
    if (pendingWalk || !walkEnds) return;
    pendingWalk = true;
    later(function () { pendingWalk = false; return drawWalkNow(); });
  }

  function report() {
    $("status").textContent = "Drawn in " + state.lastGridMs.toFixed(0) + " ms; the first grid " +
      "appeared " + state.firstGridMs.toFixed(0) + " ms after the page started loading.";
  }

  function fail(error) {
    state.error = String(error && error.stack || error);
    $("error").textContent = "Something went wrong: " + String(error && error.message || error);
  }

  function start() {
    var what = model.classes ? "a conditional generator: pick the digit it draws" :
      "an unconditional generator";
    $("about").textContent = "The generator of step " + model.step + " (recipe " + model.recipe +
      "), " + what + ". It runs here, in your browser (ONNX Runtime Web, WebAssembly): " +
      "every click draws " + COLUMNS * ROWS + " new digits from fresh noise; the slider walks " +
      "one digit between two noises.";
    if (model.classes) $("picker-label").classList.remove("hidden");
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which file:// lacks
    ort.env.wasm.proxy = false;
    return gunzip(bytesOf(window.ORT_WASM_GZIP)).then(function (wasm) {
      ort.env.wasm.wasmBinary = wasm;
      ort.env.wasm.wasmPaths = {
        mjs: URL.createObjectURL(new Blob([window.ORT_GLUE], { type: "text/javascript" })),
      };
      return ort.InferenceSession.create(bytesOf(model.onnx), { executionProviders: ["wasm"] });
    }).then(function (created) {
      session = created;
      state.ready = true;
      $("draw").disabled = false;
      $("t").disabled = false;
      $("draw").addEventListener("click", drawGrid);
      $("digit").addEventListener("change", drawGrid);
      $("t").addEventListener("input", drawWalk);
      return drawGrid();
    });
  }

  start().catch(fail);
})();
