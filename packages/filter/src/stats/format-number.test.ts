import { formatG, formatShortest } from './format-number';

describe('formatG (fmt {:.32g} / {:g})', () => {
  // Expected strings are what glibc's printf("%.32g") / printf("%g") print for the same doubles.
  it.each([
    [0.5, '0.5'],
    [1, '1'],
    [1800000, '1800000'],
    [3600000, '3600000'],
    [1250, '1250'],
    [3256.2, '3256.1999999999998181010596454144'],
    [Number('104866771428.571441650390625'), '104866771428.571441650390625'],
    [Number('5531.1160155998386471765115857124'), '5531.1160155998386471765115857124'],
    [Number('2.2599999999999997868371792719699'), '2.2599999999999997868371792719699'],
    [1e32, '1.0000000000000000536616220439347e+32'],
    [1.5e-5, '1.5000000000000000380012861456169e-05'],
    [0.0001, '0.00010000000000000000479217360238593'],
    [Number('123456789012345678'), '123456789012345680'],
    [0.1 + 0.2, '0.30000000000000004440892098500626'],
  ])('%.32g of %p is %s', (x, expected) => {
    expect(formatG(x, 32)).toBe(expected);
  });

  it.each([
    [1800000, '1.8e+06'],
    [90.00000000000001, '90'],
    [99.5, '99.5'],
    [104866771428.57144, '1.04867e+11'],
    [1.5e-5, '1.5e-05'],
    [0, '0'],
  ])('%%g of %p is %s', (x, expected) => {
    expect(formatG(x)).toBe(expected);
  });

  it('prints nan and inf the way fmt does', () => {
    expect(formatG(Number.NaN, 32)).toBe('nan');
    expect(formatG(Number.POSITIVE_INFINITY)).toBe('inf');
    expect(formatShortest(Number.NaN)).toBe('nan');
  });
});

describe('formatShortest (fmt {})', () => {
  it.each([
    [8, '8'],
    [8.075, '8.075'],
    [120, '120'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1e15, '1000000000000000'],
    [1e16, '1e+16'],
    [Number('12345678901234567890'), '1.2345678901234567e+19'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [-2.5, '-2.5'],
  ])('%p is %s', (x, expected) => {
    expect(formatShortest(x)).toBe(expected);
  });
});
