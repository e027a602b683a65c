/** Checks on the report's files, made without the code under test: PNG decoding, SVG parsing, temp folders. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import { Resvg } from '@resvg/resvg-js';

process.env.COLMENA_LOG_LEVEL ??= 'warn';

/** A fresh temporary folder and the function that removes it. */
export async function tempFolder(): Promise<{ dir: string; remove: () => Promise<void>; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'colmena-monitor-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  return { dir, remove, [Symbol.asyncDispose]: remove };
}

export interface DecodedPng {
  width: number;
  height: number;
  /** RGBA or RGB rows, unfiltered. */
  pixels: Buffer;
  channels: number;
}

/**
 * Decode an 8-bit RGB/RGBA PNG for real: check the signature and every chunk's CRC, inflate the
 * image data and undo the row filters.
 */
export function decodePng(png: Buffer): DecodedPng {
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  let offset = 8;
  let header: { width: number; height: number; depth: number; colorType: number } | null = null;
  const data: Buffer[] = [];
  let ended = false;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    const crc = png.readUInt32BE(offset + 8 + length);
    assert.equal(crc32(png.subarray(offset + 4, offset + 8 + length)), crc, `CRC of chunk ${type}`);
    if (type === 'IHDR') header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8]!, colorType: body[9]! };
    if (type === 'IDAT') data.push(body);
    if (type === 'IEND') ended = true;
    offset += 12 + length;
  }
  assert.ok(header, 'IHDR chunk');
  assert.ok(ended, 'IEND chunk');
  assert.equal(header.depth, 8, 'bit depth');
  const channels = header.colorType === 6 ? 4 : header.colorType === 2 ? 3 : 0;
  assert.ok(channels > 0, `colour type ${header.colorType} (expected RGB or RGBA)`);
  const raw = inflateSync(Buffer.concat(data));
  const stride = header.width * channels;
  assert.equal(raw.length, header.height * (stride + 1), 'inflated size matches the dimensions');
  const pixels = Buffer.alloc(header.height * stride);
  for (let y = 0; y < header.height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0;
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      assert.ok(predictor !== undefined, `row filter ${filter}`);
      pixels[y * stride + x] = (line[x]! + predictor) & 0xff;
    }
  }
  return { width: header.width, height: header.height, pixels, channels };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Fraction of pixels that are not white: a blank render has none. */
export function inkedFraction(image: DecodedPng): number {
  let inked = 0;
  const total = image.width * image.height;
  for (let i = 0; i < total; i++) {
    const o = i * image.channels;
    if (image.pixels[o]! < 240 || image.pixels[o + 1]! < 240 || image.pixels[o + 2]! < 240) inked++;
  }
  return inked / total;
}

/** Assert an SVG document parses (resvg's XML parser rejects malformed markup) and has a size. */
export function assertValidSvg(svg: string, what: string): void {
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `${what} starts with an <svg> root`);
  assert.ok(svg.trimEnd().endsWith('</svg>'), `${what} ends with </svg>`);
  const parsed = new Resvg(svg);
  assert.ok(parsed.width > 0 && parsed.height > 0, `${what} has a size`);
}

/** The bars of the task-stream chart: the items of its `stream` rect mark. */
export function streamBars(svg: string): number {
  const start = svg.indexOf('class="mark-rect role-mark stream_marks"');
  assert.ok(start >= 0, 'the task stream has its bar mark');
  const group = svg.slice(start, svg.indexOf('</g>', start));
  return group.match(/aria-roledescription="bar"/g)?.length ?? 0;
}
