// encode/decode, shared by the JavaScript edgeseq pack writes (inserted where a template says CODEC).
const TYPED = {float32: Float32Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array};

/** Numbers as the tensor's dtype: quantized with its scale and zero point when it has them. */
function encode(values, dtype, scale = null, zeroPoint = 0) {
  const Typed = TYPED[dtype];
  if (scale === null) return Typed.from(values);
  const [lo, hi] = dtype === 'uint8' ? [0, 255] : dtype === 'int16' ? [-32768, 32767] : [-128, 127];
  return Typed.from(values, (v) => Math.min(hi, Math.max(lo, Math.round(v / scale) + zeroPoint)));
}

/** A tensor's values as float32 numbers (dequantized when it has a scale). */
function decode(data, scale = null, zeroPoint = 0) {
  return scale === null ? Float32Array.from(data) : Float32Array.from(data, (q) => (q - zeroPoint) * scale);
}
