#!/usr/bin/env node
// Draws the toolbar icons (a chat bubble holding a plus, on a gradient) as PNGs; run once, output is committed.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const crcTable = Array.from({ length: 256 }, (_, index) => {
  let value = index;
  for (let bit = 0; bit < 8; bit += 1) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
  return value >>> 0;
});
function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}
function png(size, pixel) {
  const rows = [];
  for (let y = 0; y < size; y += 1) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x += 1) row.set(pixel(x, y), 1 + x * 4);
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Signed distance to a rounded rectangle centred at (cx, cy). */
function roundedRect(x, y, cx, cy, halfWidth, halfHeight, radius) {
  const dx = Math.abs(x - cx) - halfWidth + radius;
  const dy = Math.abs(y - cy) - halfHeight + radius;
  return Math.min(Math.max(dx, dy), 0) + Math.hypot(Math.max(dx, 0), Math.max(dy, 0)) - radius;
}

// Shapes in a unit square; each sample says background, bubble or plus.
function sample(u, v) {
  if (roundedRect(u, v, 0.5, 0.5, 0.5, 0.5, 0.22) > 0) return null;
  const inBubble =
    roundedRect(u, v, 0.5, 0.46, 0.3, 0.24, 0.12) <= 0 ||
    // the bubble's tail, bottom left
    (v > 0.6 && v < 0.84 && u > 0.3 && u < 0.46 && u - 0.3 < (0.84 - v) * 0.7);
  const inPlus =
    (Math.abs(u - 0.5) < 0.045 && Math.abs(v - 0.46) < 0.14) ||
    (Math.abs(v - 0.46) < 0.045 && Math.abs(u - 0.5) < 0.14);
  if (inBubble && !inPlus) return 'bubble';
  return 'background';
}

function colour(kind, u, v) {
  if (kind === 'bubble') return [255, 255, 255];
  // indigo (#4f46e5) to violet (#9333ea), top left to bottom right
  const t = (u + v) / 2;
  return [79 + (147 - 79) * t, 70 + (51 - 70) * t, 229 + (234 - 229) * t];
}

for (const size of [16, 32, 48, 128]) {
  const samples = 4;
  const image = png(size, (x, y) => {
    let red = 0;
    let green = 0;
    let blue = 0;
    let alpha = 0;
    for (let sy = 0; sy < samples; sy += 1) {
      for (let sx = 0; sx < samples; sx += 1) {
        const u = (x + (sx + 0.5) / samples) / size;
        const v = (y + (sy + 0.5) / samples) / size;
        const kind = sample(u, v);
        if (!kind) continue;
        const [r, g, b] = colour(kind, u, v);
        red += r;
        green += g;
        blue += b;
        alpha += 1;
      }
    }
    if (alpha === 0) return [0, 0, 0, 0];
    return [red / alpha, green / alpha, blue / alpha, (255 * alpha) / samples ** 2].map(Math.round);
  });
  writeFileSync(new URL(`../static/icons/icon-${size}.png`, import.meta.url), image);
}
