/**
 * Charts to files without a browser: Vega-Lite → Vega → SVG (Vega's headless renderer), then
 * SVG → PNG with resvg. The libraries are loaded on first use, so importing the monitor costs
 * nothing to a campaign that only writes a run log.
 */
import type { TopLevelSpec } from 'vega-lite';

/** Render a Vega-Lite specification to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(spec).spec;
  // No renderer: toSVG() builds the scenegraph and serializes it headless.
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Pixels per SVG unit. @default 2 */
  scale?: number;
}

/** Rasterize an SVG document to PNG bytes, with the system's fonts. */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const scale = options.scale ?? 2;
  const renderer = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return renderer.render().asPng();
}
