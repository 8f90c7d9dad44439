// Envoy prints doubles with the fmt library. Two spellings matter for the admin endpoints:
//   `{:.32g}` / `{:g}`  — printf-style %g: `precision` significant digits, trailing zeros dropped, exponent form
//                         when the decimal exponent is < -4 or >= precision (bucket bounds, `_sum`, `P99.5`).
//   `{}`                — fmt's shortest round-trip spelling, fixed form for exponents in [-4, 16), otherwise
//                         `1e+16` style (quantile values in `/stats`).
// NaN and infinities print as `nan` / `inf` / `-inf`, as fmt does.
//
// JavaScript's toPrecision/toExponential are exactly rounded like fmt; the one theoretical difference is a tie
// exactly halfway at the last printed digit (JS rounds away from zero, fmt to even), which needs a double whose
// exact decimal expansion ends in 5 right after the 32nd digit.

function nonFinite(x: number): string | undefined {
  if (Number.isNaN(x)) return 'nan';
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  if (x === Number.NEGATIVE_INFINITY) return '-inf';
  return undefined;
}

function stripFractionZeros(s: string): string {
  if (!s.includes('.')) return s;
  return s.replace(/\.?0+$/, '');
}

/** fmt/printf exponent spelling: sign and at least two digits (`e+05`, `e-12`, `e+300`). */
function exponentSuffix(exp: number): string {
  const sign = exp < 0 ? '-' : '+';
  const digits = String(Math.abs(exp));
  return `e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
}

/** `{:.<precision>g}` (and `{:g}` with precision 6). */
export function formatG(x: number, precision = 6): string {
  const special = nonFinite(x);
  if (special !== undefined) return special;
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const p = precision === 0 ? 1 : precision;
  const expForm = x.toExponential(p - 1);
  const exp = Number(expForm.slice(expForm.indexOf('e') + 1));
  if (exp < -4 || exp >= p) {
    const mantissa = stripFractionZeros(expForm.slice(0, expForm.indexOf('e')));
    return mantissa + exponentSuffix(exp);
  }
  // -4 <= exp < p: toPrecision uses fixed notation in this range (it switches only below -6 or at >= p).
  return stripFractionZeros(x.toPrecision(p));
}

/** fmt `{}` for a double: shortest round-trip digits. */
export function formatShortest(x: number): string {
  const special = nonFinite(x);
  if (special !== undefined) return special;
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const expForm = x.toExponential(); // shortest digits that round-trip
  const ePos = expForm.indexOf('e');
  const exp = Number(expForm.slice(ePos + 1));
  const negative = x < 0;
  const digits = expForm.slice(negative ? 1 : 0, ePos).replace('.', '');
  const sign = negative ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return sign + mantissa + exponentSuffix(exp);
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (exp >= digits.length - 1) return sign + digits + '0'.repeat(exp - digits.length + 1);
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}
