#!/usr/bin/env node
// Keras-semantics reference executor for k2t tests.
//
//   node tests/oracle/keras_ref.mjs MODEL.h5 INPUT.npy[,INPUT2.npy...] OUTDIR [--layers] [--batch N]
//
// Builds the model from the .h5 root attribute `model_config` with tfjs-layers (pure JS CPU backend),
// loads /model_weights by the `weight_names` attributes, runs it on INPUT.npy and writes
// OUTDIR/output.npy (float32; output_0.npy, output_1.npy ... for multi-output models).
// --layers also writes OUTDIR/<layer>.npy for every layer of model.layers, OUTDIR/layers.json and,
// for Dense/Conv layers with a fused non-linear activation, OUTDIR/<layer>.preact.npy.
// Diagnostics go to stderr; stdout stays empty on success.
import fs from 'node:fs';
import path from 'node:path';
import { readNpy, writeNpy } from './npy.mjs';

// tfjs-backend-cpu prints a "use tfjs-node" banner through console.warn on first use; drop it.
const origWarn = console.warn;
console.warn = (...a) => {
  const s = a.map(String).join(' ');
  if (s.includes('tfjs-node') || s.includes('TensorFlow.js in Node.js')) return;
  origWarn(...a);
};

const tf = await import('@tensorflow/tfjs');
const h5wasm = (await import('h5wasm/node')).default;

function die(msg) { process.stderr.write(`keras_ref: ${msg}\n`); process.exit(1); }
function note(msg) { process.stderr.write(`keras_ref: ${msg}\n`); }

// ---------------------------------------------------------------------------------------------
// Custom activations / layers that tfjs lacks or implements differently from Keras.
// ---------------------------------------------------------------------------------------------
class ActBase extends tf.serialization.Serializable { getConfig() { return {}; } }
function defAct(className, fn) {
  const C = class extends ActBase { apply(x) { return tf.tidy(() => fn(x)); } };
  C.className = className;
  tf.serialization.registerClass(C);
}
// tfjs converts activation strings to camelCase before lookup ('hard_silu' -> 'hardSilu').
defAct('silu', x => tf.mul(x, tf.sigmoid(x)));               // Keras 3 name of swish
defAct('exponential', x => tf.exp(x));
defAct('leakyRelu', x => tf.leakyRelu(x, 0.2));              // string activation 'leaky_relu' uses 0.2
const hardSigmoid3 = x => tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1);
defAct('hardSilu', x => tf.mul(x, hardSigmoid3(x)));
defAct('hardSwish', x => tf.mul(x, hardSigmoid3(x)));

function useKeras3HardSigmoid() { defAct('hardSigmoid', hardSigmoid3); }

// Full Keras ReLU layer semantics (tfjs ReLU only knows max_value).
class KerasReLU extends tf.layers.Layer {
  constructor(cfg) {
    super(cfg);
    this.maxValue = cfg.maxValue ?? null;
    this.negativeSlope = cfg.negativeSlope ?? 0;
    this.threshold = cfg.threshold ?? 0;
    this.supportsMasking = true;
  }
  call(inputs) {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const t = this.threshold, m = this.maxValue, a = this.negativeSlope;
      let y = t !== 0 ? tf.where(tf.greater(x, t), x, tf.zerosLike(x)) : tf.relu(x);
      if (m != null) y = tf.clipByValue(y, 0, m);
      if (a !== 0) y = tf.sub(y, tf.mul(a, tf.relu(tf.sub(t, x))));
      return y;
    });
  }
  computeOutputShape(s) { return s; }
  getConfig() {
    return { ...super.getConfig(), maxValue: this.maxValue, negativeSlope: this.negativeSlope, threshold: this.threshold };
  }
}
KerasReLU.className = 'ReLU';
tf.serialization.registerClass(KerasReLU);

// Subtract (missing in tfjs).
class Subtract extends tf.layers.Layer {
  call(inputs) { return tf.tidy(() => tf.sub(inputs[0], inputs[1])); }
  computeOutputShape(s) { return s[0]; }
}
Subtract.className = 'Subtract';
tf.serialization.registerClass(Subtract);

// Identity-at-inference layers tfjs lacks.
class Identity extends tf.layers.Layer {
  constructor(cfg) { super(cfg); this.supportsMasking = true; }
  call(inputs) { return Array.isArray(inputs) ? inputs[0] : inputs; }
  computeOutputShape(s) { return s; }
}
Identity.className = 'KRefIdentity';
tf.serialization.registerClass(Identity);

// UpSampling2D 'bilinear': Keras (tf.image.resize in tf.keras >= 2.4 and Keras 3) uses half-pixel centers,
// tfjs's layer calls resizeBilinear without them. Enabled in main() unless the file is from an older Keras.
const OrigUpSampling2D = tf.serialization.SerializationMap.getMap().classNameMap.UpSampling2D[0];
class UpSampling2DHalfPixel extends OrigUpSampling2D {
  call(inputs, kwargs) {
    if (this.interpolation !== 'bilinear') return super.call(inputs, kwargs);
    return tf.tidy(() => {
      let x = Array.isArray(inputs) ? inputs[0] : inputs;
      const cf = this.dataFormat === 'channelsFirst';
      if (cf) x = tf.transpose(x, [0, 2, 3, 1]);
      let y = tf.image.resizeBilinear(x, [x.shape[1] * this.size[0], x.shape[2] * this.size[1]], false, true);
      if (cf) y = tf.transpose(y, [0, 3, 1, 2]);
      return y;
    });
  }
}
UpSampling2DHalfPixel.className = 'UpSampling2D';
// Resizing: Keras 2.6+ (tf.image.resize) uses half-pixel centers for bilinear and nearest and no
// antialiasing; tfjs's layer resizes with alignCorners=true.  Registered with UpSampling2DHalfPixel.
const OrigResizing = tf.serialization.SerializationMap.getMap().classNameMap.Resizing[0];
class ResizingHalfPixel extends OrigResizing {
  computeOutputShape(s) {  // tfjs's drops the batch axis
    const t = Array.isArray(s[0]) ? s[0] : s;
    return [t[0], this.height, this.width, t[3]];
  }
  call(inputs) {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const size = [this.height, this.width];
      if (this.interpolation === 'nearest') return tf.image.resizeNearestNeighbor(x, size, false, true);
      return tf.image.resizeBilinear(x, size, false, true);
    });
  }
}
ResizingHalfPixel.className = 'Resizing';
// CenterCrop: tfjs's computeOutputShape writes into the input's shape; crop as Keras does, the window
// starting at floor((in - out) / 2) (inputs smaller than the window are not used by the fixtures).
const OrigCenterCrop = tf.serialization.SerializationMap.getMap().classNameMap.CenterCrop[0];
class CenterCropK extends OrigCenterCrop {
  computeOutputShape(s) {
    const t = Array.isArray(s[0]) ? s[0] : s;
    return [t[0], this.height, this.width, t[3]];
  }
  call(inputs) {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const top = Math.floor((x.shape[1] - this.height) / 2), left = Math.floor((x.shape[2] - this.width) / 2);
      return tf.slice(x, [0, top, left, 0], [-1, this.height, this.width, -1]);
    });
  }
}
CenterCropK.className = 'CenterCrop';
tf.serialization.registerClass(CenterCropK);
function useHalfPixelBilinear() {
  tf.serialization.registerClass(UpSampling2DHalfPixel);
  tf.serialization.registerClass(ResizingHalfPixel);
}

// ---------------------------------------------------------------------------------------------
// Config rewriting
// ---------------------------------------------------------------------------------------------
const CLASS_ALIAS = {
  BatchNormalizationV1: 'BatchNormalization', BatchNormalizationV2: 'BatchNormalization',
  UnifiedLSTM: 'LSTM', UnifiedGRU: 'GRU', LSTMV1: 'LSTM', GRUV1: 'GRU',
  SeparableConvolution2D: 'SeparableConv2D', Convolution2D: 'Conv2D', Convolution1D: 'Conv1D',
  Convolution2DTranspose: 'Conv2DTranspose', Deconvolution2D: 'Conv2DTranspose',
};
const IDENTITY_AT_INFERENCE = new Set(['SpatialDropout2D', 'SpatialDropout3D', 'ActivityRegularization']);
const MODEL_CLASSES = new Set(['Functional', 'Model', 'Sequential']);

function policyName(d) {
  if (d && typeof d === 'object') {
    let n = d.config?.name ?? d.name ?? 'float32';
    if (typeof n !== 'string') n = 'float32';
    if (n.startsWith('mixed_')) {
      note(`dtype policy ${n} computed in float32 (tfjs has no ${n}); expect small differences`);
      n = 'float32';
    }
    return n;
  }
  return d;
}

// Generic pass over every object in the config.
function fixTree(o) {
  if (Array.isArray(o)) return o.map(fixTree);
  if (o === null || typeof o !== 'object') return o;
  const r = {};
  for (const [k, v] of Object.entries(o)) {
    if (k.endsWith('_regularizer') || k.endsWith('_constraint')) { r[k] = null; continue; }
    if (k === 'dtype') { r[k] = policyName(v); continue; }
    if (k === 'batch_shape') { if (!('batch_input_shape' in o)) r.batch_input_shape = fixTree(v); continue; }
    if (k === 'module' || k === 'registered_name' || k === 'build_config' || k === 'compile_config' ||
        k === 'shared_object_id') continue;
    r[k] = fixTree(v);
  }
  return r;
}

function isRef(x) { return Array.isArray(x) && (x.length === 3 || x.length === 4) && typeof x[0] === 'string'; }
function flattenRefs(x, out = []) {
  if (isRef(x) && typeof x[1] === 'number') { out.push(x.slice(0, 3)); return out; }
  if (Array.isArray(x)) { for (const e of x) flattenRefs(e, out); return out; }
  if (x && typeof x === 'object') { for (const v of Object.values(x)) flattenRefs(v, out); return out; }
  return out;
}
function collectKerasTensors(x, out = []) {
  if (Array.isArray(x)) { for (const e of x) collectKerasTensors(e, out); return out; }
  if (x && typeof x === 'object') {
    if (x.class_name === '__keras_tensor__') { out.push(x.config.keras_history); return out; }
    for (const v of Object.values(x)) collectKerasTensors(v, out);
  }
  return out;
}

// Rewrite one {class_name, config} layer entry (recursively for nested models / wrappers).
function fixLayer(entry, kv3) {
  if (!entry || typeof entry !== 'object') return entry;
  let cls = entry.class_name;
  if (CLASS_ALIAS[cls]) cls = entry.class_name = CLASS_ALIAS[cls];
  const c = entry.config;
  if (IDENTITY_AT_INFERENCE.has(cls)) {
    entry.class_name = 'KRefIdentity';
    entry.config = { name: c.name, trainable: c.trainable ?? true, dtype: c.dtype ?? 'float32' };
    return entry;
  }
  if (cls === 'Sequential' || cls === 'Functional' || cls === 'Model') { entry.config = fixModelConfig(cls, c, kv3); return entry; }
  if (!c || typeof c !== 'object') return entry;
  if (cls === 'LeakyReLU' && 'negative_slope' in c) { c.alpha = c.negative_slope; delete c.negative_slope; }
  if (cls === 'BatchNormalization' && Array.isArray(c.axis)) {
    if (c.axis.length !== 1) die(`${c.name}: BatchNormalization over several axes is unsupported by tfjs`);
    c.axis = c.axis[0];
  }
  if (cls === 'LayerNormalization' && c.rms_scaling) die(`${c.name}: LayerNormalization rms_scaling is unsupported by tfjs`);
  if ((c.groups ?? 1) !== 1) die(`${c.name}: ${cls} groups=${c.groups} is unsupported by tfjs (it would be ignored silently)`);
  if (cls === 'Dense' && c.lora_rank) die(`${c.name}: LoRA Dense unsupported`);
  if (/^Global(Average|Max)Pooling/.test(cls) && c.keepdims) die(`${c.name}: ${cls} keepdims=true is unsupported by tfjs (it would be ignored silently)`);
  if (cls === 'ReLU') {
    c.max_value = c.max_value ?? null; c.negative_slope = c.negative_slope ?? 0; c.threshold = c.threshold ?? 0;
  }
  for (const k of ['layer', 'cell', 'forward_layer', 'backward_layer']) {
    if (c[k] && typeof c[k] === 'object' && c[k].class_name) c[k] = fixLayer(c[k], kv3);
  }
  if (Array.isArray(c.cells)) c.cells = c.cells.map(e => fixLayer(e, kv3));
  return entry;
}

function normTriples(x) {
  // input_layers / output_layers: a list of triples, one bare triple, a dict, or nested lists.
  if (isRef(x)) return [x.slice(0, 3)];
  if (Array.isArray(x)) return x.flatMap(normTriples);
  if (x && typeof x === 'object') return Object.values(x).flatMap(normTriples);
  die(`cannot read input/output layer spec ${JSON.stringify(x)}`);
}

function fixModelConfig(cls, c, kv3) {
  if (cls === 'Sequential') {
    if (Array.isArray(c)) c = { layers: c };
    c.layers = c.layers.map(e => fixLayer(e, kv3));
    return c;
  }
  const classOf = {};
  for (const l of c.layers) classOf[l.config?.name ?? l.name] = CLASS_ALIAS[l.class_name] ?? l.class_name;
  for (const l of c.layers) {
    if (l.module && String(l.module).startsWith('keras.src.ops')) die(`layer ${l.name}: Keras 3 op ${l.class_name} is not a layer tfjs can run`);
    if (['TFOpLambda', 'SlicingOpLambda', 'Lambda'].includes(l.class_name)) die(`layer ${l.name}: ${l.class_name} is unsupported by tfjs`);
    const nodes = l.inbound_nodes ?? [];
    l.inbound_nodes = nodes.map(node => {
      if (node && !Array.isArray(node) && typeof node === 'object' && 'args' in node) {
        // Keras 3 dict form. keras_history node indices are 0-based over the calls kept in this model;
        // tfjs (like Keras 2) counts the built-in node 0 of a nested model, so shift those by one.
        const hist = collectKerasTensors(node.args);
        const kw = collectKerasTensors(node.kwargs ?? {});
        if (kw.length) note(`layer ${l.name}: tensor kwargs (e.g. mask) dropped`);
        return hist.map(([n, ni, ti]) => [n, MODEL_CLASSES.has(classOf[n]) ? ni + 1 : ni, ti, {}]);
      }
      if (isRef(node)) return [node.length === 4 ? node : [...node, {}]]; // TFOpLambda single-arg form
      return node;
    });
    fixLayer(l, kv3);
  }
  // Keras 3 input/output_layers: a nested Functional is already counted 1-based, a Sequential is not.
  const shiftSeq = t => (kv3 && classOf[t[0]] === 'Sequential') ? [t[0], t[1] + 1, t[2]] : t;
  c.input_layers = normTriples(c.input_layers).map(shiftSeq);
  c.output_layers = normTriples(c.output_layers).map(shiftSeq);
  return c;
}

// ---------------------------------------------------------------------------------------------
// H5 helpers
// ---------------------------------------------------------------------------------------------
function attrList(obj, name) {
  const attrs = obj.attrs;
  const read = a => {
    const v = a.value;
    if (v == null) return [];
    if (typeof v === 'string') return [v];
    if (ArrayBuffer.isView(v)) return []; // empty list is stored as float64 (0,)
    return Array.from(v).map(s => (typeof s === 'string' ? s : new TextDecoder().decode(s)).replace(/\0+$/, ''));
  };
  if (name in attrs) return read(attrs[name]);
  const out = [];
  for (let i = 0; `${name}${i}` in attrs; i++) out.push(...read(attrs[`${name}${i}`]));
  return out;
}

function readDataset(f, p) {
  const d = f.get(p);
  if (!d) die(`missing weight dataset /${p}`);
  const v = d.value;
  const shape = d.shape ?? [];
  let arr;
  if (typeof v === 'number' || typeof v === 'bigint') arr = Float32Array.of(Number(v));
  else if (v instanceof Float32Array) arr = v;
  else if (v instanceof BigInt64Array || v instanceof BigUint64Array) arr = Float32Array.from(v, Number);
  else arr = Float32Array.from(v);
  return { data: arr, shape };
}

// ---------------------------------------------------------------------------------------------
// Weight assignment
// ---------------------------------------------------------------------------------------------
const shortName = n => n.split('/').pop().replace(/:\d+$/, '');
const NAME_ALIAS = { kernel: ['depthwise_kernel'] }; // Keras 3 DepthwiseConv2D variable is "kernel"
const sameShape = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

function assignLeaf(layer, entries) {
  // entries: [{name, data, shape}] in weight_names order; targets: tfjs layer.weights (trainable + non-trainable)
  const vars = layer.weights;
  if (vars.length !== entries.length) {
    die(`layer ${layer.name}: file has ${entries.length} weights [${entries.map(e => e.name)}], tfjs expects ` +
        `${vars.length} [${vars.map(v => v.originalName)}]`);
  }
  const tnames = vars.map(v => shortName(v.originalName));
  const fnames = entries.map(e => shortName(e.name));
  let order = null;
  if (new Set(tnames).size === tnames.length && new Set(fnames).size === fnames.length) {
    order = fnames.map(fn => {
      let i = tnames.indexOf(fn);
      if (i < 0) for (const alt of NAME_ALIAS[fn] ?? []) { i = tnames.indexOf(alt); if (i >= 0) break; }
      return i;
    });
    if (order.some(i => i < 0) || new Set(order).size !== order.length) order = null;
  }
  if (!order) order = entries.map((_, i) => i); // positional (Keras legacy order == tfjs order)
  entries.forEach((e, k) => {
    const v = vars[order[k]];
    if (!sameShape(v.shape, e.shape)) die(`layer ${layer.name}: weight ${e.name} has shape [${e.shape}], tfjs ${v.originalName} wants [${v.shape}]`);
    v.write(tf.tensor(e.data, e.shape, 'float32'));
  });
}

function isContainer(l) { return l instanceof tf.LayersModel; }

function leafLayers(model, out = new Map()) {
  for (const l of model.layers) {
    if (isContainer(l)) leafLayers(l, out);
    else out.set(l.name, l);
  }
  return out;
}

function assignLayer(layer, entries) {
  if (!isContainer(layer)) return assignLeaf(layer, entries);
  // Nested model: its group lists every inner variable; match by the inner layer name segment.
  const leaves = leafLayers(layer);
  const groups = new Map();
  let ok = true;
  for (const e of entries) {
    const segs = e.name.split('/');
    const seg = segs.slice(0, -1).find(s => leaves.has(s));
    if (!seg) { ok = false; break; }
    if (!groups.has(seg)) groups.set(seg, []);
    groups.get(seg).push(e);
  }
  const withWeights = [...leaves.values()].filter(l => l.weights.length > 0);
  if (ok && withWeights.every(l => groups.has(l.name)) && [...groups.keys()].every(n => leaves.get(n).weights.length)) {
    for (const [n, es] of groups) assignLeaf(leaves.get(n), es);
    return;
  }
  // Fallback: positional over the nested model's weights (trainable of all sublayers, then non-trainable).
  note(`nested model ${layer.name}: matching weights by position`);
  const vars = layer.weights;
  if (vars.length !== entries.length) die(`nested model ${layer.name}: ${entries.length} weights in file, ${vars.length} in tfjs`);
  entries.forEach((e, k) => {
    if (!sameShape(vars[k].shape, e.shape)) die(`nested model ${layer.name}: ${e.name} shape [${e.shape}] vs [${vars[k].shape}]`);
    vars[k].write(tf.tensor(e.data, e.shape, 'float32'));
  });
}

function loadWeights(f, model) {
  const root = f.get('model_weights');
  if (!root) die('no /model_weights group');
  const layerNames = attrList(root, 'layer_names');
  const done = new Set();
  for (const ln of layerNames) {
    let layer;
    try { layer = model.getLayer(ln); } catch { layer = null; }
    const g = f.get(`model_weights/${ln}`);
    const wnames = g ? attrList(g, 'weight_names') : [];
    if (!layer) {
      if (wnames.length) die(`file has weights for layer ${ln}, which the model does not have`);
      continue;
    }
    const entries = wnames.map(wn => ({ name: wn, ...readDataset(f, `model_weights/${ln}/${wn}`) }));
    if (entries.length || layer.weights.length) assignLayer(layer, entries);
    done.add(layer.name);
  }
  for (const l of model.layers) {
    if (l.weights.length && !done.has(l.name)) die(`layer ${l.name} has weights but the file has none for it`);
  }
}

// ---------------------------------------------------------------------------------------------
// Execution helpers
// ---------------------------------------------------------------------------------------------
// Run `model` on inputs in batches; returns [{data: Float32Array, shape}] per output.
function runBatched(model, inputs, batch) {
  const n = inputs[0].shape[0];
  let outs = null;
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    // (Return tensors from tidy, not typed arrays: tidy walks returned containers element by element.)
    const ys = tf.tidy(() => {
      const xs = inputs.map(x => x.slice([s], [e - s]));
      const y = model.predict(xs.length === 1 ? xs[0] : xs, { batchSize: e - s });
      return Array.isArray(y) ? y : [y];
    });
    const res = ys.map(t => ({ shape: t.shape, data: t.dataSync() }));
    tf.dispose(ys);
    if (!outs) {
      outs = res.map(r => {
        const per = r.data.length / (e - s);
        return { shape: [n, ...r.shape.slice(1)], data: new Float32Array(per * n), per };
      });
    }
    res.forEach((r, i) => outs[i].data.set(r.data, s * outs[i].per));
  }
  return outs.map(({ shape, data }) => ({ shape, data }));
}

function toTensor(npy, dtype) {
  const want = dtype === 'int32' ? 'int32' : 'float32';
  return tf.tensor(want === 'int32' ? Int32Array.from(npy.data) : Float32Array.from(npy.data), npy.shape, want);
}

const FUSED = new Set(['Dense', 'Conv1D', 'Conv2D', 'Conv3D', 'DepthwiseConv2D', 'SeparableConv2D', 'SeparableConv1D',
  'Conv2DTranspose', 'Conv3DTranspose']);
const safeName = s => s.replace(/[\/\\]/g, '_');

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const flags = new Set(argv.filter(a => a.startsWith('--') && a !== '--batch'));
let batch = 64;
const bi = argv.indexOf('--batch');
if (bi >= 0) { batch = parseInt(argv[bi + 1], 10); argv.splice(bi, 2); }
const pos = argv.filter(a => !a.startsWith('--'));
if (pos.length !== 3) {
  die('usage: node keras_ref.mjs MODEL.h5 INPUT.npy[,INPUT2.npy...] OUTDIR [--layers] [--batch N] [--no-bn-eps-clamp] [--dump-config]');
}
const [modelPath, inputArg, outDir] = pos;
const withLayers = flags.has('--layers');

await tf.setBackend('cpu');
await h5wasm.ready;
const t0 = Date.now();

const f = new h5wasm.File(modelPath, 'r');
const mcAttr = f.attrs['model_config'];
if (!mcAttr) die(`${modelPath}: no model_config attribute (weights-only file?)`);
let mcText = mcAttr.value;
if (typeof mcText !== 'string') mcText = new TextDecoder().decode(mcText);
const kerasVersion = String(f.attrs['keras_version']?.value ?? '2');
const backend = String(f.attrs['backend']?.value ?? 'tensorflow');
const kv3 = kerasVersion.startsWith('3');
if (kerasVersion.startsWith('1')) die(`Keras ${kerasVersion} files are unsupported`);
if (kv3) useKeras3HardSigmoid();
{
  const [maj, min] = kerasVersion.split('.').map(n => parseInt(n, 10));
  if (maj >= 3 || (maj === 2 && min >= 4)) useHalfPixelBilinear();
  else note(`Keras ${kerasVersion}: UpSampling2D bilinear (if any) without half-pixel centers (tfjs default)`);
}

// Python json.dumps may emit NaN / Infinity tokens (only outside strings in practice).
const raw = JSON.parse(mcText.replace(/(?<=[:\[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '"__$1__"'),
  (k, v) => (v === '__NaN__' ? NaN : v === '__Infinity__' ? Infinity : v === '__-Infinity__' ? -Infinity : v));
const top = fixTree(raw);
const topCls = CLASS_ALIAS[top.class_name] ?? top.class_name;
top.class_name = topCls;
top.config = fixModelConfig(topCls, top.config, kv3);
if (flags.has('--dump-config')) fs.mkdirSync(outDir, { recursive: true }), fs.writeFileSync(path.join(outDir, 'model_config.tfjs.json'), JSON.stringify(top, null, 1));

let model;
try {
  model = await tf.models.modelFromJSON({ modelTopology: { class_name: top.class_name, config: top.config, keras_version: kerasVersion, backend } });
} catch (e) {
  die(`tfjs could not build the model: ${e.message}`);
}
loadWeights(f, model);
f.close();

// Keras 2 runs 4-D BatchNormalization through fused_batch_norm, which raises epsilon to >= 1.001e-5.
if (!kv3 && !flags.has('--no-bn-eps-clamp')) {
  const walk = m => m.layers.forEach(l => {
    if (isContainer(l)) return walk(l);
    if (l.getClassName() === 'BatchNormalization' && l.epsilon < 1.001e-5) {
      const rank = l.inboundNodes[l.inboundNodes.length - 1]?.inputShapes?.[0]?.length ?? (l.inputSpec?.[0]?.ndim);
      const ax = l.axis < 0 ? l.axis + rank : l.axis;
      if (rank === 4 && (ax === 3 || ax === 1)) { note(`${l.name}: epsilon ${l.epsilon} -> 1.001e-5 (Keras 2 fused BN)`); l.epsilon = 1.001e-5; }
    }
  });
  walk(model);
}

// Inputs
const inPaths = inputArg.split(',');
if (inPaths.length !== model.inputs.length) die(`model has ${model.inputs.length} inputs, got ${inPaths.length} .npy files`);
const inputs = inPaths.map((p, i) => {
  const a = readNpy(p);
  const want = model.inputs[i].shape;
  if (a.shape.length !== want.length || want.some((d, j) => d != null && d !== a.shape[j])) {
    die(`input ${p} has shape [${a.shape}], model input ${i} is [${want.map(d => d ?? 'None')}]`);
  }
  return toTensor(a, model.inputs[i].dtype);
});
fs.mkdirSync(outDir, { recursive: true });
const t1 = Date.now();

const outs = runBatched(model, inputs, batch);
if (outs.length === 1) writeNpy(path.join(outDir, 'output.npy'), outs[0].data, outs[0].shape);
else outs.forEach((o, i) => writeNpy(path.join(outDir, `output_${i}.npy`), o.data, o.shape));
const t2 = Date.now();

// Every layer's output (recursing into nested models), plus pre-activations of fused Dense/Conv layers.
// `inputVals` are the (full-batch) tensors fed to `m`; names of nested layers are "outer/inner".
function probeModel(m, inputVals, prefix, listing) {
  const probes = []; // {l, node, nodes, idx, nouts, tensor | input}
  const preacts = [];
  const nested = []; // {l, tensors: inputs of its (single) call}
  for (const l of m.layers) {
    const cls = l.getClassName();
    if (cls === 'InputLayer') { probes.push({ l, input: m.inputs.indexOf(l.output) }); continue; }
    const first = isContainer(l) ? 1 : 0; // a nested model's node 0 is its own construction
    const nodes = l.inboundNodes.length - first;
    for (let ni = first; ni < l.inboundNodes.length; ni++) {
      const outsT = l.inboundNodes[ni].outputTensors;
      outsT.forEach((t, k) => probes.push({ l, node: ni - first, nodes, idx: k, nouts: outsT.length, tensor: t }));
    }
    if (isContainer(l) && nodes === 1) nested.push({ l, tensors: l.inboundNodes[first].inputTensors });
    // Pre-activation: the same layer with activation 'linear' on the same input, sharing weights.
    if (FUSED.has(cls) && l.activation && l.activation.getClassName() !== 'linear' && l.inboundNodes.length === 1) {
      const cfg = l.getConfig();
      cfg.activation = 'linear';
      cfg.name = `${l.name}__preact`;
      // getConfig() of tfjs's SeparableConv2D leaves out the depth multiplier.
      if (l.depthMultiplier !== undefined && cfg.depthMultiplier === undefined) cfg.depthMultiplier = l.depthMultiplier;
      const clone = new l.constructor(cfg);
      const y = clone.apply(l.inboundNodes[0].inputTensors[0]);
      clone.setWeights(l.getWeights());
      preacts.push({ l, tensor: y });
    }
  }
  const symOuts = [...probes.filter(p => p.tensor).map(p => p.tensor), ...preacts.map(p => p.tensor),
    ...nested.flatMap(n => n.tensors)];
  // One tensor may be wanted twice (a nested model's output is the next one's
  // input); tf.model refuses repeated outputs, so probe each once.
  const uniq = [];
  const slot = symOuts.map(t => { let i = uniq.indexOf(t); if (i < 0) { uniq.push(t); i = uniq.length - 1; } return i; });
  const probe = uniq.length ? tf.model({ inputs: m.inputs, outputs: uniq }) : null;
  const uvals = probe ? runBatched(probe, inputVals, batch) : [];
  const vals = slot.map(i => uvals[i]);
  let vi = 0;
  const start = listing.length;
  for (const p of probes) {
    const name = prefix + p.l.name;
    let file = safeName(name.split('/').join('__'));
    if (p.nodes > 1) file += `__node${p.node}`;
    if (p.nouts > 1) file += `__out${p.idx}`;
    let v;
    if (p.tensor) v = vals[vi++];
    else { const t = inputVals[p.input]; v = { data: t.dataSync(), shape: t.shape }; }
    writeNpy(path.join(outDir, `${file}.npy`), v.data, v.shape);
    const ent = { name, class: p.l.getClassName(), shape: v.shape, file: `${file}.npy` };
    if (p.nodes > 1) ent.node = p.node;
    if (p.nouts > 1) ent.output_index = p.idx;
    listing.push(ent);
  }
  for (const p of preacts) {
    const v = vals[vi++];
    const file = `${safeName((prefix + p.l.name).split('/').join('__'))}.preact.npy`;
    writeNpy(path.join(outDir, file), v.data, v.shape);
    const ent = listing.slice(start).find(e => e.name === prefix + p.l.name);
    if (ent) { ent.preact = file; ent.activation = p.l.activation.getClassName(); }
  }
  for (const n of nested) {
    const ins = n.tensors.map(() => { const v = vals[vi++]; return tf.tensor(v.data, v.shape); });
    // Insert the inner layers right after the nested model's own entry.
    const inner = [];
    probeModel(n.l, ins, `${prefix}${n.l.name}/`, inner);
    const at = listing.findIndex(e => e.name === prefix + n.l.name);
    listing.splice(at + 1, 0, ...inner);
    tf.dispose(ins);
  }
}

if (withLayers) {
  const listing = [];
  probeModel(model, inputs, '', listing);
  fs.writeFileSync(path.join(outDir, 'layers.json'), JSON.stringify(listing, null, 1) + '\n');
}
const t3 = Date.now();
if (process.env.KERAS_REF_TIMING) {
  note(`load ${t1 - t0} ms, run ${t2 - t1} ms${withLayers ? `, layers ${t3 - t2} ms` : ''}`);
}
