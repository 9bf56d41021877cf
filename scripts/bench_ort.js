// bench_ort.js MODEL.onnx C H W [IMAGES] -- make bench only: ONNX Runtime on one
// thread (intra- and inter-op), the figures scripts/bench.sh sets beside
// k2t's: session load time, batch-32 throughput over IMAGES images (10,000), and
// single-image latency (median and min of 200 runs after 20 warm-up runs).
// onnxruntime-node comes from build/bench/ort (npm --ignore-scripts), never
// a run-time dependency of k2t.
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '..', 'build', 'bench', 'ort', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [file, c, h, w] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5]];
  const opts = {intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
                graphOptimizationLevel: 'all'};
  let t0 = process.hrtime.bigint();
  const s = await ort.InferenceSession.create(file, opts);
  const load = Number(process.hrtime.bigint() - t0) / 1e6;
  const input = s.inputNames[0];
  const per = c * h * w;
  const rnd = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = Math.random(); return a; };
  const B = 32, total = +(process.argv[6] || 10000);
  const xb = new ort.Tensor('float32', rnd(B * per), [B, c, h, w]);
  for (let i = 0; i < 3; i++) await s.run({[input]: xb});
  t0 = process.hrtime.bigint();
  let done = 0;
  while (done < total) {
    const n = Math.min(B, total - done);
    const x = n === B ? xb : new ort.Tensor('float32', xb.data.subarray(0, n * per), [n, c, h, w]);
    await s.run({[input]: x});
    done += n;
  }
  const thr = total / (Number(process.hrtime.bigint() - t0) / 1e9);
  const x1 = new ort.Tensor('float32', rnd(per), [1, c, h, w]);
  for (let i = 0; i < 20; i++) await s.run({[input]: x1});
  const ts = [];
  for (let i = 0; i < 200; i++) {
    const a = process.hrtime.bigint();
    await s.run({[input]: x1});
    ts.push(Number(process.hrtime.bigint() - a) / 1e6);
  }
  ts.sort((a, b) => a - b);
  console.log(JSON.stringify({load_ms: load, batch32_images_per_s: thr, run1_median_ms: ts[99], run1_min_ms: ts[0]}));
}
main().catch((e) => { console.error('bench_ort: ' + e.message); process.exit(1); });
