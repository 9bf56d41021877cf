// Minimal .npy reader/writer (NumPy format versions 1.0, 2.0, 3.0).
// read: any little/big-endian bool/int/uint/float (f2, f4, f8) array, C or Fortran order.
// write: float32 (or int32) little-endian, C order, version 1.0 (2.0 if the header is too long).
import fs from 'node:fs';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function halfToFloat(h) {
  const s = (h & 0x8000) ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}

function parseHeader(text) {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`npy: cannot parse header: ${text}`);
  const dims = shape[1].split(',').map(s => s.trim()).filter(s => s.length).map(s => parseInt(s, 10));
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

/** Returns {data: Float64Array|Float32Array|Int32Array..., shape, dtype} where dtype is the numpy descr. */
export function readNpy(path) {
  const buf = fs.readFileSync(path);
  for (let i = 0; i < 6; i++) if (buf[i] !== MAGIC[i]) throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  let hlen, off;
  if (major === 1) { hlen = buf.readUInt16LE(8); off = 10; }
  else { hlen = buf.readUInt32LE(8); off = 12; }
  const hdr = parseHeader(buf.toString(major === 3 ? 'utf8' : 'latin1', off, off + hlen));
  off += hlen;
  const n = hdr.shape.reduce((a, b) => a * b, 1);
  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(hdr.descr);
  if (!m) throw new Error(`${path}: unsupported dtype ${hdr.descr}`);
  const le = m[1] !== '>';
  const kind = m[2], size = parseInt(m[3], 10);
  const dv = new DataView(buf.buffer, buf.byteOffset + off, n * size);
  if (dv.byteLength < n * size) throw new Error(`${path}: truncated data`);
  let get;
  if (kind === 'f' && size === 4) get = i => dv.getFloat32(i * 4, le);
  else if (kind === 'f' && size === 8) get = i => dv.getFloat64(i * 8, le);
  else if (kind === 'f' && size === 2) get = i => halfToFloat(dv.getUint16(i * 2, le));
  else if (kind === 'u' && size === 1) get = i => dv.getUint8(i);
  else if (kind === 'i' && size === 1) get = i => dv.getInt8(i);
  else if (kind === 'b' && size === 1) get = i => dv.getUint8(i) ? 1 : 0;
  else if (kind === 'u' && size === 2) get = i => dv.getUint16(i * 2, le);
  else if (kind === 'i' && size === 2) get = i => dv.getInt16(i * 2, le);
  else if (kind === 'u' && size === 4) get = i => dv.getUint32(i * 4, le);
  else if (kind === 'i' && size === 4) get = i => dv.getInt32(i * 4, le);
  else if (kind === 'i' && size === 8) get = i => Number(dv.getBigInt64(i * 8, le));
  else if (kind === 'u' && size === 8) get = i => Number(dv.getBigUint64(i * 8, le));
  else throw new Error(`${path}: unsupported dtype ${hdr.descr}`);
  const data = new Float64Array(n);
  if (!hdr.fortran || hdr.shape.length < 2) {
    for (let i = 0; i < n; i++) data[i] = get(i);
  } else {
    // Fortran order: element with C-index (i0..ik) is at sum(i_j * prod(shape[0..j-1])).
    const shp = hdr.shape, r = shp.length;
    const fstride = new Array(r); let s = 1;
    for (let j = 0; j < r; j++) { fstride[j] = s; s *= shp[j]; }
    const idx = new Array(r).fill(0);
    for (let c = 0; c < n; c++) {
      let fo = 0; for (let j = 0; j < r; j++) fo += idx[j] * fstride[j];
      data[c] = get(fo);
      for (let j = r - 1; j >= 0; j--) { if (++idx[j] < shp[j]) break; idx[j] = 0; }
    }
  }
  return { data, shape: hdr.shape, dtype: hdr.descr, kind, size };
}

/** Write a C-order little-endian array. dtype '<f4' (default) or '<i4'. */
export function writeNpy(path, data, shape, dtype = '<f4') {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`writeNpy ${path}: ${data.length} values for shape [${shape}]`);
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shp}, }`;
  let major = 1, pre = 10;
  if (dict.length + 1 + pre > 65535) { major = 2; pre = 12; }
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const head = Buffer.alloc(pre);
  MAGIC.forEach((b, i) => { head[i] = b; });
  head[6] = major; head[7] = 0;
  if (major === 1) head.writeUInt16LE(dict.length, 8); else head.writeUInt32LE(dict.length, 8);
  let body;
  if (dtype === '<f4') body = Buffer.from(Float32Array.from(data).buffer);
  else if (dtype === '<i4') body = Buffer.from(Int32Array.from(data).buffer);
  else throw new Error(`writeNpy: unsupported dtype ${dtype}`);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(dict, 'latin1'), body]));
}
