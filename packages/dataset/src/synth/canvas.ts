import { FER_IMAGE, FER_PIXELS } from '@fersweep/contracts';

// Math's functions are bound once per module: under jest's vm sandbox every global lookup
// (Math, Infinity) goes through an interceptor and costs ~100× a module binding, which made
// rendering 25× slower in tests than in plain Node.
const { abs, ceil, cos, floor, hypot, max, min, sin, sqrt } = Math;
const INF = Number.POSITIVE_INFINITY;

const W = FER_IMAGE.width;
const H = FER_IMAGE.height;

/**
 * A 48×48 float canvas drawn in face coordinates. Shapes are signed-distance functions in face
 * units; coverage is a linear ramp across the edge in pixels, which anti-aliases without
 * supersampling (a 48×48 face has 1–3 px features, so aliasing would otherwise dominate them).
 * Each painter only visits the pixel box its shape can reach: that is what keeps a face under
 * half a millisecond.
 */
export class Canvas {
  /** Intensity 0..1, row-major. */
  readonly img = new Float32Array(FER_PIXELS);
  /** Face coordinates of each pixel centre. */
  readonly u = new Float32Array(FER_PIXELS);
  readonly v = new Float32Array(FER_PIXELS);
  /** How much of each pixel is bare skin (not hair, background or occluder): features fade with it. */
  readonly skin = new Float32Array(FER_PIXELS);
  /** Lighting multiplier, applied after the features so they are lit like the skin they sit on. */
  readonly light = new Float32Array(FER_PIXELS);
  private readonly tmp = new Float32Array(FER_PIXELS);

  /** Pixels per face unit. */
  scale = 17;
  private cos = 1;
  private sin = 0;
  private cx = 24;
  private cy = 24;
  // Pixel box of the last `box` call, inclusive.
  private x0 = 0;
  private x1 = 0;
  private y0 = 0;
  private y1 = 0;

  /** Places the face: centre in pixels, scale in px per unit, roll in radians. */
  setPose(cx: number, cy: number, scale: number, roll: number): void {
    this.cx = cx;
    this.cy = cy;
    this.scale = scale;
    this.cos = cos(roll);
    this.sin = sin(roll);
    const inv = 1 / scale;
    for (let y = 0; y < H; y++) {
      const dy = y + 0.5 - cy;
      for (let x = 0; x < W; x++) {
        const dx = x + 0.5 - cx;
        const i = y * W + x;
        this.u[i] = (this.cos * dx + this.sin * dy) * inv;
        this.v[i] = (-this.sin * dx + this.cos * dy) * inv;
      }
    }
  }

  /** Sets the pixel box covering face-space rectangle [u0,u1]×[v0,v1]; false if off-canvas. */
  private box(u0: number, v0: number, u1: number, v1: number): boolean {
    const s = this.scale;
    let minX = INF;
    let maxX = -INF;
    let minY = INF;
    let maxY = -INF;
    for (let k = 0; k < 4; k++) {
      const u = k & 1 ? u1 : u0;
      const v = k & 2 ? v1 : v0;
      const x = this.cx + s * (this.cos * u - this.sin * v);
      const y = this.cy + s * (this.sin * u + this.cos * v);
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    this.x0 = max(0, floor(minX - 1.5));
    this.x1 = min(W - 1, ceil(maxX + 1.5));
    this.y0 = max(0, floor(minY - 1.5));
    this.y1 = min(H - 1, ceil(maxY + 1.5));
    return this.x0 <= this.x1 && this.y0 <= this.y1;
  }

  /**
   * Blends an ellipse (centre, radii, rotation) toward `tone`. `soft` is the edge ramp in pixels:
   * 1 for a crisp anti-aliased edge, larger for shading blobs. `onSkin` fades it where there is no skin.
   */
  ellipse(
    cu: number,
    cv: number,
    ru: number,
    rv: number,
    angle: number,
    tone: number,
    alpha: number,
    soft: number,
    onSkin: boolean,
  ): void {
    const r = max(ru, rv);
    const pad = (soft * 0.5) / this.scale;
    if (alpha <= 0 || !this.box(cu - r - pad, cv - r - pad, cu + r + pad, cv + r + pad)) return;
    const c = cos(angle);
    const sn = sin(angle);
    const iru = 1 / ru;
    const irv = 1 / rv;
    const k = this.scale / soft;
    const { img, u, v, skin } = this;
    for (let y = this.y0; y <= this.y1; y++) {
      for (let x = this.x0, i = y * W + this.x0; x <= this.x1; x++, i++) {
        const du = u[i]! - cu;
        const dv = v[i]! - cv;
        const pu = c * du + sn * dv;
        const pv = -sn * du + c * dv;
        const d = ellipseDistance(pu, pv, iru, irv, ru, rv);
        let cov = 0.5 - d * k;
        if (cov <= 0) continue;
        if (cov > 1) cov = 1;
        const a = alpha * cov * (onSkin ? skin[i]! : 1);
        img[i] = img[i]! + (tone - img[i]!) * a;
      }
    }
  }

  /**
   * Blends a stroke along a polyline `pts` (u0,v0,u1,v1,…) whose half-thickness goes linearly
   * from `r0` at the first point to `r1` at the last: brows, wrinkles, folds, lid lines.
   */
  stroke(
    pts: readonly number[],
    r0: number,
    r1: number,
    tone: number,
    alpha: number,
    soft: number,
    onSkin: boolean,
  ): void {
    if (alpha <= 0) return;
    const n = pts.length >> 1;
    let minU = INF;
    let maxU = -INF;
    let minV = INF;
    let maxV = -INF;
    for (let j = 0; j < n; j++) {
      const pu = pts[2 * j]!;
      const pv = pts[2 * j + 1]!;
      minU = min(minU, pu);
      maxU = max(maxU, pu);
      minV = min(minV, pv);
      maxV = max(maxV, pv);
    }
    const pad = max(r0, r1) + (soft * 0.5) / this.scale;
    if (!this.box(minU - pad, minV - pad, maxU + pad, maxV + pad)) return;
    // Cumulative length so the thickness can taper along the whole path.
    let total = 0;
    for (let j = 1; j < n; j++) total += hypot(pts[2 * j]! - pts[2 * j - 2]!, pts[2 * j + 1]! - pts[2 * j - 1]!);
    const k = this.scale / soft;
    const { img, u, v, skin } = this;
    for (let y = this.y0; y <= this.y1; y++) {
      for (let x = this.x0, i = y * W + this.x0; x <= this.x1; x++, i++) {
        const pu = u[i]!;
        const pv = v[i]!;
        let best = INF;
        let along = 0;
        for (let j = 1; j < n; j++) {
          const au = pts[2 * j - 2]!;
          const av = pts[2 * j - 1]!;
          const bu = pts[2 * j]! - au;
          const bv = pts[2 * j + 1]! - av;
          const len2 = bu * bu + bv * bv;
          let t = len2 > 0 ? ((pu - au) * bu + (pv - av) * bv) / len2 : 0;
          t = t < 0 ? 0 : t > 1 ? 1 : t;
          const eu = pu - au - bu * t;
          const ev = pv - av - bv * t;
          const len = sqrt(len2);
          const dist = sqrt(eu * eu + ev * ev) - (r0 + (r1 - r0) * ((along + t * len) / (total || 1)));
          if (dist < best) best = dist;
          along += len;
        }
        let cov = 0.5 - best * k;
        if (cov <= 0) continue;
        if (cov > 1) cov = 1;
        const a = alpha * cov * (onSkin ? skin[i]! : 1);
        img[i] = img[i]! + (tone - img[i]!) * a;
      }
    }
  }

  /** Blends a rotated rectangle (centre, half-sizes): occluding bars and patches. */
  rect(cu: number, cv: number, hu: number, hv: number, angle: number, tone: number, alpha: number): void {
    const r = hypot(hu, hv);
    if (!this.box(cu - r, cv - r, cu + r, cv + r)) return;
    const c = cos(angle);
    const sn = sin(angle);
    const k = this.scale;
    const { img, u, v, skin } = this;
    for (let y = this.y0; y <= this.y1; y++) {
      for (let x = this.x0, i = y * W + this.x0; x <= this.x1; x++, i++) {
        const du = u[i]! - cu;
        const dv = v[i]! - cv;
        const d = max(abs(c * du + sn * dv) - hu, abs(-sn * du + c * dv) - hv);
        let cov = 0.5 - d * k;
        if (cov <= 0) continue;
        if (cov > 1) cov = 1;
        img[i] = img[i]! + (tone - img[i]!) * alpha * cov;
        skin[i] = skin[i]! * (1 - cov);
      }
    }
  }

  /**
   * Replaces each pixel of a face-space box by `shade(u, v, current)`, faded by `alpha` (and by
   * the skin mask if `onSkin`): for layered shapes that are not ellipses or strokes (eyes, mouth).
   */
  shade(
    u0: number,
    v0: number,
    u1: number,
    v1: number,
    shade: (u: number, v: number, current: number) => number,
    alpha: number,
    onSkin: boolean,
  ): void {
    if (alpha <= 0 || !this.box(u0, v0, u1, v1)) return;
    const { img, u, v, skin } = this;
    for (let y = this.y0; y <= this.y1; y++) {
      for (let x = this.x0, i = y * W + this.x0; x <= this.x1; x++, i++) {
        const cur = img[i]!;
        const next = shade(u[i]!, v[i]!, cur);
        if (next !== cur) img[i] = cur + (next - cur) * alpha * (onSkin ? skin[i]! : 1);
      }
    }
  }

  /** Multiplies the image by the lighting buffer. */
  applyLight(): void {
    const { img, light } = this;
    for (let i = 0; i < img.length; i++) img[i] = img[i]! * light[i]!;
  }

  /** Mixes in a 3×3 binomial blur with weight `amount` (0..1), clamping at the borders. */
  blur(amount: number): void {
    if (amount <= 0) return;
    const { img, tmp } = this;
    for (let y = 0; y < H; y++) {
      const row = y * W;
      for (let x = 0; x < W; x++) {
        const l = img[row + (x > 0 ? x - 1 : 0)]!;
        const r = img[row + (x < W - 1 ? x + 1 : x)]!;
        tmp[row + x] = 0.25 * l + 0.5 * img[row + x]! + 0.25 * r;
      }
    }
    for (let y = 0; y < H; y++) {
      const up = (y > 0 ? y - 1 : 0) * W;
      const dn = (y < H - 1 ? y + 1 : y) * W;
      const row = y * W;
      for (let x = 0; x < W; x++) {
        const b = 0.25 * tmp[up + x]! + 0.5 * tmp[row + x]! + 0.25 * tmp[dn + x]!;
        img[row + x] = img[row + x]! + (b - img[row + x]!) * amount;
      }
    }
  }
}

/**
 * Approximate signed distance to an axis-aligned ellipse (Quilez's gradient-normalised form):
 * exact on the boundary, good enough nearby, which is all a one-pixel edge ramp needs.
 */
export function ellipseDistance(pu: number, pv: number, iru: number, irv: number, ru: number, rv: number): number {
  const qu = pu * iru;
  const qv = pv * irv;
  const k0 = sqrt(qu * qu + qv * qv);
  const gu = qu * iru;
  const gv = qv * irv;
  const k1 = sqrt(gu * gu + gv * gv);
  if (k1 < 1e-9) return -min(ru, rv);
  return (k0 * (k0 - 1)) / k1;
}
