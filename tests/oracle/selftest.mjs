#!/usr/bin/env node
// Self-test of keras_ref.mjs's config rewriting and weight loading.
//
//   node tests/oracle/selftest.mjs [MODELS_DIR]      (default /work/shared/models)
//
// Re-writes the real Keras 2 files into the other layouts keras_ref.mjs claims to read (Keras 3 dict-form nodes,
// batch_shape, DTypePolicy dicts, bare-triple input/output layers, ":0"-less weight names; Sequential as a bare list;
// chunked fixed-length layer_names0../weight_names0..; nested Functional and Sequential models in Keras 2 and
// Keras 3 form; nested-model weights that only match by position), runs keras_ref.mjs on each and checks the
// result against the model's reference output. Also checks activation/ReLU/LeakyReLU/Subtract semantics on a
// weightless model against closed-form values. Prints one line per case; exit status 1 on any failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readNpy, writeNpy } from './npy.mjs';
import h5wasm from 'h5wasm/node';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODELS = process.argv[2] ?? '/work/shared/models';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keras_ref_selftest_'));
await h5wasm.ready;

// ---------------------------------------------------------------------------------------------
function readModel(p) {
  const f = new h5wasm.File(p, 'r');
  const config = JSON.parse(f.attrs.model_config.value);
  const list = (g, n) => { const v = g.attrs[n]?.value; return (v == null || ArrayBuffer.isView(v)) ? [] : (typeof v === 'string' ? [v] : Array.from(v)); };
  const layerNames = list(f.get('model_weights'), 'layer_names');
  const weights = new Map();
  for (const ln of layerNames) {
    const g = f.get(`model_weights/${ln}`);
    weights.set(ln, list(g, 'weight_names').map(wn => {
      const d = f.get(`model_weights/${ln}/${wn}`);
      return { name: wn, data: Float32Array.from(d.value), shape: d.shape };
    }));
  }
  f.close();
  return { config, layerNames, weights };
}

// layers: [{name, weights: [{name, data, shape}]}]; opts.chunk splits list attributes in two fixed-length parts.
function writeModel(p, { config, kerasVersion, layers, chunk = false }) {
  const f = new h5wasm.File(p, 'w');
  f.create_attribute('keras_version', kerasVersion);
  f.create_attribute('backend', 'tensorflow');
  f.create_attribute('model_config', JSON.stringify(config));
  const mw = f.create_group('model_weights');
  const putList = (g, name, list) => {
    if (list.length === 0) { g.create_attribute(name, new Float64Array(0), [0]); return; }
    if (!chunk || list.length < 2) { g.create_attribute(name, list); return; }
    const h = Math.ceil(list.length / 2);
    [list.slice(0, h), list.slice(h)].forEach((part, i) => {
      const len = Math.max(...part.map(s => s.length));
      g.create_attribute(`${name}${i}`, part, [part.length], `S${len}`);
    });
  };
  putList(mw, 'layer_names', layers.map(l => l.name));
  mw.create_attribute('keras_version', kerasVersion);
  for (const l of layers) {
    const g = mw.create_group(l.name);
    putList(g, 'weight_names', l.weights.map(w => w.name));
    for (const w of l.weights) {
      const segs = w.name.split('/');
      let cur = `model_weights/${l.name}`;
      for (const s of segs.slice(0, -1)) {
        cur += `/${s}`;
        if (!f.get(cur)) f.create_group(cur);
      }
      f.get(cur).create_dataset({ name: segs[segs.length - 1], data: w.data, shape: w.shape, dtype: '<f' });
    }
  }
  f.close();
}

// Keras 2 functional config -> Keras 3 legacy-H5 style.
const kt = ref => ({ class_name: '__keras_tensor__', config: { shape: null, dtype: 'float32', keras_history: ref.slice(0, 3) } });
const policy = n => ({ module: 'keras', class_name: 'DTypePolicy', config: { name: n }, registered_name: null });
function toK3Layer(l, historyShift = {}) {
  const c = { ...l.config };
  if (l.class_name === 'InputLayer') {
    c.batch_shape = c.batch_input_shape; delete c.batch_input_shape; delete c.ragged;
  } else if (c.dtype && typeof c.dtype === 'string') c.dtype = policy(c.dtype);
  if (l.class_name === 'BatchNormalization' && Array.isArray(c.axis)) c.axis = c.axis[0];
  if (c.kernel_regularizer === null) c.kernel_regularizer = { module: 'keras.regularizers', class_name: 'L2', config: { l2: 1e-4 }, registered_name: null };
  const out = { module: 'keras.layers', class_name: l.class_name, config: c, registered_name: null, build_config: { input_shape: null }, name: l.name };
  if (l.inbound_nodes) {
    out.inbound_nodes = l.inbound_nodes.map(node => {
      const refs = node.map(r => [r[0], r[1] - (historyShift[r[0]] ?? 0), r[2]]);
      return { args: refs.length === 1 ? [kt(refs[0])] : [refs.map(kt)], kwargs: {} };
    });
  }
  return out;
}
function toK3Functional(cfg) {
  return {
    module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
    config: {
      name: cfg.config.name, trainable: true, layers: cfg.config.layers.map(l => toK3Layer(l)),
      input_layers: cfg.config.input_layers.length === 1 ? cfg.config.input_layers[0] : cfg.config.input_layers,
      output_layers: cfg.config.output_layers.length === 1 ? cfg.config.output_layers[0] : cfg.config.output_layers,
    },
    build_config: { input_shape: null },
  };
}
const k3names = ws => ws.map(w => ({ ...w, name: w.name.replace(/:\d+$/, '').replace(/^(depthwise_conv2d[^/]*)\/depthwise_kernel$/, '$1/kernel') }));

// All variables of a model, Keras nested-group order: trainable of every layer, then non-trainable.
function nestedWeights(src) {
  const all = [...src.weights.values()].flat();
  const nonTrain = w => /moving_(mean|variance)/.test(w.name);
  return [...all.filter(w => !nonTrain(w)), ...all.filter(nonTrain)];
}

// ---------------------------------------------------------------------------------------------
let failures = 0;
function run(name, modelFile, inputFiles, check, extra = []) {
  const out = path.join(tmp, `${name}_out`);
  const t0 = Date.now();
  try {
    execFileSync(process.execPath, [path.join(here, 'keras_ref.mjs'), modelFile, inputFiles.join(','), out, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: keras_ref failed: ${String(e.stderr).trim()}`);
    return;
  }
  const msg = check(out);
  if (msg) { failures++; console.log(`FAIL ${name}: ${msg}`); } else console.log(`ok   ${name} (${Date.now() - t0} ms)`);
}
function compare(got, want, rows = null, tol = 1e-5) {
  if (rows != null) want = { data: want.data.subarray(0, rows * want.data.length / want.shape[0]), shape: [rows, ...want.shape.slice(1)] };
  if (got.shape.join() !== want.shape.join()) return `shape [${got.shape}] vs [${want.shape}]`;
  let d = 0, m = 1;
  for (let i = 0; i < got.data.length; i++) { d = Math.max(d, Math.abs(got.data[i] - want.data[i])); m = Math.max(m, Math.abs(want.data[i])); }
  return d / m <= tol ? null : `max rel diff ${d / m}`;
}
function sliceNpy(src, rows, dst) {
  const a = readNpy(src);
  const per = a.data.length / a.shape[0];
  writeNpy(dst, a.data.subarray(0, rows * per), [rows, ...a.shape.slice(1)]);
  return dst;
}
const refOut = n => readNpy(path.join(MODELS, 'refs', `${n}.out.npy`));
const refIn = n => path.join(MODELS, 'refs', `${n}.in.npy`);

// A. ResNet8 as a Keras 3 legacy .h5 (dict nodes, batch_shape, policies, bare triples, ':0'-less names, L2 objects).
{
  const src = readModel(path.join(MODELS, 'pretrainedResnet.h5'));
  const p = path.join(tmp, 'resnet_k3.h5');
  writeModel(p, {
    config: toK3Functional(src.config), kerasVersion: '3.5.0',
    layers: src.layerNames.map(n => ({ name: n, weights: k3names(src.weights.get(n)) })),
  });
  const inp = sliceNpy(refIn('pretrainedResnet.ic200'), 16, path.join(tmp, 'resnet16.npy'));
  run('keras3-functional-resnet', p, [inp], out => compare(readNpy(path.join(out, 'output.npy')), refOut('pretrainedResnet.ic200'), 16));
}

// B. ad01 as a Sequential given as a bare list, chunked fixed-length layer_names0/1 and weight_names0/1.
{
  const src = readModel(path.join(MODELS, 'ad01.h5'));
  const layers = src.config.config.layers;
  const seq = layers.filter(l => l.class_name !== 'InputLayer').map(l => ({ class_name: l.class_name, config: { ...l.config } }));
  seq[0].config.batch_input_shape = layers[0].config.batch_input_shape;
  const p = path.join(tmp, 'ad01_seq.h5');
  writeModel(p, {
    config: { class_name: 'Sequential', config: seq }, kerasVersion: '2.2.2', chunk: true,
    layers: src.layerNames.filter(n => n !== 'input_1').map(n => ({ name: n, weights: src.weights.get(n) })),
  });
  run('sequential-bare-list-chunked-attrs', p, [refIn('ad01')], out => compare(readNpy(path.join(out, 'output.npy')), refOut('ad01'), null, 1e-4));
}

// C/D. vww_96 nested as a Functional inside a Functional (Keras 2: 1-based refs; Keras 3: 0-based keras_history).
for (const mode of ['keras2', 'keras2-positional', 'keras3']) {
  const src = readModel(path.join(MODELS, 'vww_96.h5'));
  const inner = JSON.parse(JSON.stringify(src.config));
  inner.config.name = 'inner';
  const inShape = inner.config.layers[0].config.batch_input_shape;
  let ws = nestedWeights(src);
  if (mode === 'keras2-positional') ws = ws.map((w, i) => ({ ...w, name: `model/var_${i}:0` }));
  let config;
  if (mode === 'keras3') {
    ws = k3names(ws);
    const innerK3 = toK3Functional(inner);
    config = toK3Functional({
      class_name: 'Functional', config: {
        name: 'outer', layers: [
          { class_name: 'InputLayer', config: { batch_input_shape: inShape, dtype: 'float32', sparse: false, name: 'outer_in' }, name: 'outer_in', inbound_nodes: [] },
          { class_name: 'Activation', config: { name: 'post', trainable: true, dtype: 'float32', activation: 'linear' }, name: 'post', inbound_nodes: [[['inner', 1, 0, {}]]] },
        ], input_layers: [['outer_in', 0, 0]], output_layers: [['post', 0, 0]],
      },
    });
    // insert the nested model (Keras 3: node indices of keras_history are 0-based)
    const innerEntry = { ...innerK3, name: 'inner', inbound_nodes: [{ args: [kt(['outer_in', 0, 0])], kwargs: {} }] };
    config.config.layers.splice(1, 0, innerEntry);
    config.config.layers[2].inbound_nodes = [{ args: [kt(['inner', 0, 0])], kwargs: {} }];
  } else {
    config = {
      class_name: 'Functional', config: {
        name: 'outer', layers: [
          { class_name: 'InputLayer', config: { batch_input_shape: inShape, dtype: 'float32', sparse: false, name: 'outer_in' }, name: 'outer_in', inbound_nodes: [] },
          { class_name: 'Functional', config: inner.config, name: 'inner', inbound_nodes: [[['outer_in', 0, 0, {}]]] },
          { class_name: 'Activation', config: { name: 'post', trainable: true, dtype: 'float32', activation: 'linear' }, name: 'post', inbound_nodes: [[['inner', 1, 0, {}]]] },
        ], input_layers: [['outer_in', 0, 0]], output_layers: [['post', 0, 0]],
      },
    };
  }
  const p = path.join(tmp, `vww_nested_${mode}.h5`);
  writeModel(p, {
    config, kerasVersion: mode === 'keras3' ? '3.5.0' : '2.14.0',
    layers: [{ name: 'outer_in', weights: [] }, { name: 'inner', weights: ws }, { name: 'post', weights: [] }],
  });
  run(`nested-functional-${mode}`, p, [refIn('vww_96')], out => compare(readNpy(path.join(out, 'output.npy')), refOut('vww_96'), null, 1e-4));
}

// E. ad01 as a Keras 3 Sequential nested in a Keras 3 Functional, output_layers naming the Sequential (0-based).
{
  const src = readModel(path.join(MODELS, 'ad01.h5'));
  const layers = src.config.config.layers;
  const inShape = layers[0].config.batch_input_shape;
  const seqLayers = layers.map(l => { const e = toK3Layer({ ...l, inbound_nodes: undefined }); delete e.inbound_nodes; delete e.name; return e; });
  const seq = { module: 'keras', class_name: 'Sequential', registered_name: null, config: { name: 'inner_seq', trainable: true, dtype: policy('float32'), layers: seqLayers }, build_config: { input_shape: inShape } };
  const config = {
    module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
    config: {
      name: 'outer', trainable: true, layers: [
        { module: 'keras.layers', class_name: 'InputLayer', registered_name: null, name: 'x', inbound_nodes: [], config: { batch_shape: inShape, dtype: 'float32', sparse: false, name: 'x' } },
        { ...seq, name: 'inner_seq', inbound_nodes: [{ args: [kt(['x', 0, 0])], kwargs: {} }] },
      ], input_layers: ['x', 0, 0], output_layers: ['inner_seq', 0, 0],
    },
  };
  const p = path.join(tmp, 'ad01_nested_seq_k3.h5');
  writeModel(p, {
    config, kerasVersion: '3.5.0',
    layers: [{ name: 'x', weights: [] }, { name: 'inner_seq', weights: k3names(nestedWeights(src)).map(w => ({ ...w, name: `sequential/${w.name}` })) }],
  });
  run('nested-sequential-keras3', p, [refIn('ad01')], out => compare(readNpy(path.join(out, 'output.npy')), refOut('ad01'), null, 1e-4));
}

// G. --layers: a nested model's inner layers ("inner_seq/dense" -> inner_seq__dense.npy) equal the plain model's.
run('layers-dump-plain', path.join(MODELS, 'ad01.h5'), [refIn('ad01')], () => null, ['--layers']);
run('layers-dump-nested', path.join(tmp, 'ad01_nested_seq_k3.h5'), [refIn('ad01')], out => {
  const plain = path.join(tmp, 'layers-dump-plain_out');
  const list = JSON.parse(fs.readFileSync(path.join(plain, 'layers.json'), 'utf8'));
  const nested = JSON.parse(fs.readFileSync(path.join(out, 'layers.json'), 'utf8'));
  if (list.length < 10) return 'too few layers listed';
  for (const e of list) {
    const n = nested.find(x => x.name === `inner_seq/${e.name}`);
    if (!n) return `no inner_seq/${e.name} in nested layers.json`;
    const m = compare(readNpy(path.join(out, n.file)), readNpy(path.join(plain, e.file)), null, 1e-6);
    if (m) return `${e.name}: ${m}`;
    if (e.preact && !fs.existsSync(path.join(out, n.preact ?? 'none'))) return `${e.name}: missing preact`;
  }
  return null;
}, ['--layers']);

// H. uint8 and float64 inputs.
{
  const a = readNpy(sliceNpy(refIn('pretrainedResnet.ic200'), 8, path.join(tmp, 'r8.npy')));
  const hdr = (d, shape) => { let h = `{'descr': '${d}', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`; h += ' '.repeat(63 - ((10 + h.length) % 64)) + '\n'; return h; };
  const write = (p, d, body) => { const b = Buffer.alloc(10); b.write('\x93NUMPY', 0, 'latin1'); b[6] = 1; b.writeUInt16LE(hdr(d, a.shape).length, 8); fs.writeFileSync(p, Buffer.concat([b, Buffer.from(hdr(d, a.shape), 'latin1'), body])); };
  write(path.join(tmp, 'r8u8.npy'), '|u1', Buffer.from(Uint8Array.from(a.data)));
  write(path.join(tmp, 'r8f8.npy'), '<f8', Buffer.from(Float64Array.from(a.data).buffer));
  for (const k of ['u8', 'f8']) {
    run(`input-dtype-${k}`, path.join(MODELS, 'pretrainedResnet.h5'), [path.join(tmp, `r8${k}.npy`)],
      out => compare(readNpy(path.join(out, 'output.npy')), refOut('pretrainedResnet.ic200'), 8));
  }
}

// F. Weightless semantics: ReLU(max_value, negative_slope, threshold), LeakyReLU, hard_sigmoid (Keras 2 vs 3),
//    silu/swish, Subtract, multi-output naming.
for (const kv of ['3.5.0', '2.14.0']) {
  const xs = [-3, -1, -0.25, 0, 0.25, 0.5, 0.75, 3];
  const inP = path.join(tmp, 'acts_in.npy');
  writeNpy(inP, xs, [1, xs.length]);
  const L = (cls, name, cfg, src) => ({ class_name: cls, name, config: { name, trainable: true, dtype: 'float32', ...cfg }, inbound_nodes: [[...src.map(s => [s, 0, 0, {}])]] });
  const slopeKey = kv.startsWith('3') ? 'negative_slope' : 'alpha';
  const k2cfg = {
    class_name: 'Functional', config: {
      name: 'acts', layers: [
        { class_name: 'InputLayer', name: 'x', config: { batch_input_shape: [null, xs.length], dtype: 'float32', sparse: false, name: 'x' }, inbound_nodes: [] },
        L('ReLU', 'relu_t', { max_value: 2.0, negative_slope: 0.1, threshold: 0.5 }, ['x']),
        L('LeakyReLU', 'leaky', { [slopeKey]: 0.25 }, ['x']),
        L('Activation', 'hs', { activation: 'hard_sigmoid' }, ['x']),
        L('Activation', 'sw', { activation: kv.startsWith('3') ? 'silu' : 'swish' }, ['x']),
        L('Subtract', 'sub', {}, ['x', 'relu_t']),
        L('Activation', 'lr', { activation: 'leaky_relu' }, ['x']),
      ], input_layers: [['x', 0, 0]], output_layers: [['relu_t', 0, 0], ['leaky', 0, 0], ['hs', 0, 0], ['sw', 0, 0], ['sub', 0, 0], ['lr', 0, 0]],
    },
  };
  const config = kv.startsWith('3') ? toK3Functional(k2cfg) : k2cfg;
  const p = path.join(tmp, `acts_${kv}.h5`);
  writeModel(p, { config, kerasVersion: kv, layers: k2cfg.config.layers.map(l => ({ name: l.name, weights: [] })) });
  const relu = x => { let y = x > 0.5 ? x : 0; y = Math.min(Math.max(y, 0), 2); return y - 0.1 * Math.max(0.5 - x, 0); };
  const hs = kv.startsWith('3') ? x => Math.min(Math.max(x / 6 + 0.5, 0), 1) : x => Math.min(Math.max(0.2 * x + 0.5, 0), 1);
  const expect = [xs.map(relu), xs.map(x => (x > 0 ? x : 0.25 * x)), xs.map(hs), xs.map(x => x / (1 + Math.exp(-x))),
    xs.map(x => x - relu(x)), xs.map(x => (x > 0 ? x : 0.2 * x))];
  run(`activation-semantics-keras${kv[0]}`, p, [inP], out => {
    for (let i = 0; i < expect.length; i++) {
      const m = compare(readNpy(path.join(out, `output_${i}.npy`)), { data: Float64Array.from(expect[i]), shape: [1, xs.length] }, null, 1e-6);
      if (m) return `output_${i}: ${m}`;
    }
    return null;
  });
}

// I. UpSampling2D bilinear (half-pixel centers as tf.image.resize) and nearest, 1x2 -> 2x4.
{
  const inP = path.join(tmp, 'up_in.npy');
  writeNpy(inP, [0, 1], [1, 1, 2, 1]);
  const up = (name, interpolation) => ({ class_name: 'UpSampling2D', name, config: { name, trainable: true, dtype: 'float32', size: [2, 2], data_format: 'channels_last', interpolation }, inbound_nodes: [[['x', 0, 0, {}]]] });
  const config = { class_name: 'Functional', config: { name: 'up', layers: [
    { class_name: 'InputLayer', name: 'x', config: { batch_input_shape: [null, 1, 2, 1], dtype: 'float32', sparse: false, name: 'x' }, inbound_nodes: [] },
    up('bil', 'bilinear'), up('nn', 'nearest')], input_layers: [['x', 0, 0]], output_layers: [['bil', 0, 0], ['nn', 0, 0]] } };
  const p = path.join(tmp, 'up.h5');
  writeModel(p, { config, kerasVersion: '2.14.0', layers: config.config.layers.map(l => ({ name: l.name, weights: [] })) });
  run('upsampling2d', p, [inP], out => compare(readNpy(path.join(out, 'output_0.npy')), { data: Float64Array.from([0, 0.25, 0.75, 1, 0, 0.25, 0.75, 1]), shape: [1, 2, 4, 1] }, null, 1e-6)
    ?? compare(readNpy(path.join(out, 'output_1.npy')), { data: Float64Array.from([0, 0, 1, 1, 0, 0, 1, 1]), shape: [1, 2, 4, 1] }, null, 1e-6));
}

if (!process.env.KEEP_SELFTEST) fs.rmSync(tmp, { recursive: true, force: true });
else console.log(`kept ${tmp}`);
console.log(failures ? `${failures} FAILED` : 'all passed');
process.exit(failures ? 1 : 0);
