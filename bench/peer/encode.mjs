// Builds posagent's benchmark receipt with @point-of-sale/receipt-printer-encoder
// and prints the number of bytes it would send. Input (stdin, JSON):
//   {columns, model, mode: "native"|"raster", lines: [text...],
//    qr: [{url, label, size, matrix: ["0101…", …]}]}
// Output (stdout, JSON): {bytes}. Run by bench/wire_test.go (make bench).
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';

const spec = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => s += d);
  process.stdin.on('end', () => resolve(s));
}));

const enc = new ReceiptPrinterEncoder({
  printerModel: spec.model,
  columns: spec.columns,
  language: 'esc-pos',
  imageMode: 'raster',
});
let e = enc.initialize().codepage('cp852');
for (const line of spec.lines) {
  e = e.line(line);
}
for (const q of spec.qr) {
  e = e.align('center');
  if (spec.mode === 'native') {
    e = e.qrcode(q.url, {model: 2, size: q.size, errorlevel: 'm'});
  } else {
    // The same symbol as posagent's, one dot per dot: no printer-side scaling.
    const n = q.matrix.length, quiet = 4, side = (n + 2 * quiet) * q.size;
    const w = Math.ceil(side / 8) * 8, h = Math.ceil(side / 8) * 8;
    const data = new Uint8ClampedArray(w * h * 4).fill(255);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        if (q.matrix[y][x] !== '1') continue;
        for (let dy = 0; dy < q.size; dy++) {
          for (let dx = 0; dx < q.size; dx++) {
            const px = (x + quiet) * q.size + dx, py = (y + quiet) * q.size + dy;
            const i = (py * w + px) * 4;
            data[i] = data[i + 1] = data[i + 2] = 0;
          }
        }
      }
    }
    e = e.image({data, width: w, height: h}, w, h, 'threshold');
  }
  e = e.bold(true).line(q.label).bold(false).align('left');
}
const bytes = e.cut('partial').encode();
process.stdout.write(JSON.stringify({bytes: bytes.length}) + '\n');
