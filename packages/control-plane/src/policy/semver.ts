const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** `x.y.z` with numeric parts, as the reference's create endpoint demands; undefined otherwise. */
export function parseSemver(version: string): [number, number, number] | undefined {
  const m = SEMVER.exec(version);
  if (!m) return undefined;
  const parts = [Number(m[1]), Number(m[2]), Number(m[3])] as [number, number, number];
  return parts.every(Number.isSafeInteger) ? parts : undefined;
}

export function compareSemver(a: [number, number, number], b: [number, number, number]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
