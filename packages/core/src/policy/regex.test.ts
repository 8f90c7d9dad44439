import { HfiError } from '../errors';
import { checkRegex, compileRegex, MAX_PROGRAM_SIZE } from './regex';

describe('checkRegex: the supported dialect', () => {
  it.each([
    'literal',
    '/api/v1/users',
    '.',
    'a.c',
    '\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\\\/\\-\\_\\ \\#',
    '\\t\\n\\r\\f\\v',
    '\\x41\\x7e',
    '\\d\\D\\w\\W\\s\\S',
    '[abc]',
    '[^abc]',
    '[a-z0-9_]',
    '[\\d\\s\\w]',
    '[\\D]',
    '[\\x00-\\x7f]',
    '[\\]\\-\\[]',
    '[]a]',
    '[^]a]',
    '[a-]',
    '[-a]',
    '[\\d-z]',
    '[[]',
    '[:]',
    '^$',
    '^/health$',
    '(a)',
    '(?:a)',
    '(?P<id>\\d+)',
    '(?<id>\\d+)',
    '(?P<a>x)(?P<b>y)',
    'a|b|c',
    'a|',
    '|a',
    '()',
    '(|)',
    'a*',
    'a+',
    'a?',
    'a{3}',
    'a{3,}',
    'a{3,5}',
    'a{0}',
    'a{0,0}',
    'a{1000}',
    'a{0,1000}',
    'a*?',
    'a+?',
    'a??',
    'a{2,3}?',
    '(ab)*',
    '()*',
    '(a*)*',
    '^*',
    '}',
    ']',
    'é',
    '😀+',
    '[é-ü]',
    'x'.repeat(1024),
  ])('accepts %j', (pattern) => {
    expect(checkRegex(pattern)).toEqual({ ok: true });
  });
});

describe('checkRegex: constructs outside the dialect are named', () => {
  it.each([
    ['(a)\\1', 'backreference', 3, '\\1'],
    ['\\9', 'backreference', 0, '\\9'],
    ['(?<n>a)\\k<n>', 'backreference', 7, '\\k<n>'],
    ["\\k'n'", 'backreference', 0, "\\k'n'"],
    ['\\g{1}', 'backreference', 0, '\\g{1}'],
    ['(?P=n)', 'backreference', 0, '(?P='],
    ['a(?=b)', 'lookahead', 1, '(?='],
    ['a(?!b)', 'negative lookahead', 1, '(?!'],
    ['(?<=a)b', 'lookbehind', 0, '(?<='],
    ['(?<!a)b', 'negative lookbehind', 0, '(?<!'],
    ['(?>a+)', 'atomic group', 0, '(?>'],
    ['a*+', 'possessive quantifier', 1, '*+'],
    ['a++', 'possessive quantifier', 1, '++'],
    ['a?+', 'possessive quantifier', 1, '?+'],
    ['a{2}+', 'possessive quantifier', 1, '{2}+'],
    ['(?i)abc', 'inline flags', 0, '(?i)'],
    ['(?i:abc)', 'inline flags', 0, '(?i:'],
    ['(?-s)a', 'inline flags', 0, '(?-s)'],
    ['(?sm)a', 'inline flags', 0, '(?sm)'],
    ['\\p{L}', 'Unicode class', 0, '\\p{L}'],
    ['\\P{Greek}', 'Unicode class', 0, '\\P{Greek}'],
    ['\\pL', 'Unicode class', 0, '\\pL'],
    ['[\\p{L}]', 'Unicode class', 1, '\\p{L}'],
    ['\\bword\\b', 'word boundary', 0, '\\b'],
    ['\\B', 'non-word boundary', 0, '\\B'],
    ['\\Aa', 'start-of-text anchor', 0, '\\A'],
    ['a\\z', 'end-of-text anchor', 1, '\\z'],
    ['a\\Z', 'end-of-text anchor', 1, '\\Z'],
    ['\\G', 'match-start anchor', 0, '\\G'],
    ['\\0', 'octal escape', 0, '\\0'],
    ['\\012', 'octal escape', 0, '\\0'],
    ['\\q', 'unknown escape', 0, '\\q'],
    ['\\e', 'unknown escape', 0, '\\e'],
    ['\\a', 'unknown escape', 0, '\\a'],
    ['\\u0041', 'Unicode escape', 0, '\\u'],
    ['\\Qa.b\\E', 'quoted literal', 0, '\\Q'],
    ['[[:alpha:]]', 'POSIX class', 1, '[:alpha:]'],
    ['[x[:^digit:]]', 'POSIX class', 2, '[:^digit:]'],
    ['(?(1)a|b)', 'conditional', 0, '(?('],
    ['(?R)', 'recursion', 0, '(?R)'],
    ['(a(?1))', 'recursion', 2, '(?1'],
    ['(?&name)', 'recursion', 0, '(?&'],
    ['(?P>name)', 'recursion', 0, '(?P>'],
    ['(?#comment)', 'comment group', 0, '(?#'],
    ['(?|a|b)', 'branch reset', 0, '(?|'],
    ['\\x{41}', 'braced hex escape', 0, '\\x{'],
  ])('%j: %s', (pattern, construct, index, text) => {
    const result = checkRegex(pattern);
    expect(result).toEqual({
      ok: false,
      construct,
      index,
      message: expect.stringContaining(`${construct} "${text}" at offset ${index} is not supported`),
    });
  });
});

describe('checkRegex: syntax errors', () => {
  it.each([
    ['(abc', 'unbalanced parenthesis', 0, 'unbalanced parenthesis: "(" at offset 0 is never closed'],
    ['a(b(c)', 'unbalanced parenthesis', 1, 'unbalanced parenthesis: "(" at offset 1 is never closed'],
    ['abc)', 'unbalanced parenthesis', 3, 'unbalanced parenthesis: ")" at offset 3 has no "("'],
    ['*a', 'nothing to repeat', 0, 'nothing to repeat: "*" at offset 0 follows nothing'],
    ['a|+b', 'nothing to repeat', 2, 'nothing to repeat: "+" at offset 2 follows nothing'],
    ['(?b)', 'inline flags', 0, 'inline flags "(?b)" at offset 0 is not supported'],
    ['(*a)', 'nothing to repeat', 1, 'nothing to repeat: "*" at offset 1 follows nothing'],
    ['{2}', 'nothing to repeat', 0, 'nothing to repeat: "{2}" at offset 0 follows nothing'],
    ['[z-a]', 'bad range', 1, 'bad range "z-a" at offset 1: its start is after its end'],
    ['[a-\\d]', 'bad range', 1, 'bad range "a-\\d" at offset 1: a class like \\d cannot end a range'],
    [
      '[]',
      'empty class',
      0,
      'empty class "[]" at offset 0: a "]" right after "[" is a literal, so the class is never closed (write \\] for a literal "]")',
    ],
    ['[^]', 'empty class', 0, expect.stringContaining('empty class "[^]" at offset 0')],
    ['[abc', 'unterminated class', 0, 'unterminated class: "[" at offset 0 is never closed by "]"'],
    ['a{2,1}', 'bad repetition', 1, 'bad repetition: "{2,1}" at offset 1 has its minimum above its maximum'],
    ['a{1001}', 'bad repetition', 1, 'bad repetition: "{1001}" at offset 1 exceeds the maximum count of 1000'],
    ['a{1,1001}', 'bad repetition', 1, 'bad repetition: "{1,1001}" at offset 1 exceeds the maximum count of 1000'],
    ['a{99999999999999999999}', 'bad repetition', 1, expect.stringContaining('exceeds the maximum count of 1000')],
    [
      '/users/{id}',
      'bad repetition',
      7,
      'bad repetition: "{" at offset 7 must start {n}, {n,} or {n,m}; write \\{ for a literal brace',
    ],
    ['a{,5}', 'bad repetition', 1, expect.stringContaining('must start {n}, {n,} or {n,m}')],
    ['a{2', 'bad repetition', 1, expect.stringContaining('must start {n}, {n,} or {n,m}')],
    ['a**', 'bad repetition', 2, expect.stringContaining('bad repetition: "*" at offset 2 repeats a repetition')],
    ['a{2}{3}', 'bad repetition', 4, expect.stringContaining('repeats a repetition')],
    ['a*?*', 'bad repetition', 3, expect.stringContaining('repeats a repetition')],
    ['abc\\', 'trailing backslash', 3, 'trailing backslash at offset 3'],
    ['\\x4', 'bad escape', 0, 'bad escape "\\x" at offset 0: expected two hex digits (\\xHH)'],
    ['(?<1a>x)', 'bad group name', 0, expect.stringContaining('bad group name at offset 0')],
    ['(?P<>x)', 'bad group name', 0, expect.stringContaining('bad group name at offset 0')],
    ['(?<n>a)(?<n>b)', 'duplicate group name', 7, 'duplicate group name "n" at offset 7'],
    ['(?', 'bad group', 0, expect.stringContaining('unknown group syntax')],
  ])('%j: %s', (pattern, construct, index, message) => {
    expect(checkRegex(pattern)).toEqual({ ok: false, construct, index, message });
  });

  it('reports offsets in code points', () => {
    expect(checkRegex('😀é(?=x)')).toMatchObject({ ok: false, construct: 'lookahead', index: 2 });
  });

  it('limits the pattern to 1024 characters', () => {
    expect(checkRegex('x'.repeat(1025))).toEqual({
      ok: false,
      construct: 'pattern too long',
      index: 1024,
      message: 'pattern too long: 1025 characters (max 1024)',
    });
    expect(checkRegex('😀'.repeat(1024)).ok).toBe(true);
  });

  it(`limits the compiled program to ${MAX_PROGRAM_SIZE} instructions`, () => {
    // a{1000} = 1000 + Match; (a{1000}){9} = 9001 + 1; (a{1000}){10} = 10001.
    expect(checkRegex('(a{1000}){9}').ok).toBe(true);
    expect(checkRegex('(?:a{1000}){10}')).toEqual({
      ok: false,
      construct: 'regex too large',
      index: 0,
      message: 'regex too large: it compiles to 10001 instructions (max 10000); lower the repetition counts',
    });
    expect(checkRegex('((((a{1000}){1000}){1000}){1000}){1000}')).toMatchObject({
      ok: false,
      construct: 'regex too large',
      message: expect.stringContaining('far more than 10000'),
    });
    expect(checkRegex('(x{1000}){0}').ok).toBe(true);
    expect(compileRegex('(a{1000}){9}').size).toBe(9001);
  });
});

describe('compileRegex: matching (unanchored search over code points)', () => {
  it.each([
    ['abc', 'xxabcxx', true],
    ['abc', 'ab', false],
    ['^abc', 'abcx', true],
    ['^abc', 'xabc', false],
    ['abc$', 'xabc', true],
    ['abc$', 'abc\n', false],
    ['^$', '', true],
    ['^$', 'a', false],
    ['', 'anything', true],
    ['a.c', 'abc', true],
    ['a.c', 'a\nc', false],
    ['a.c', 'a😀c', true],
    ['^.$', 'é', true],
    ['^..$', '😀', false],
    ['[^a]', '\n', true],
    ['\\d+', 'id=42', true],
    ['^\\d+$', '4x2', false],
    ['\\w', 'é', false],
    ['\\W', 'é', true],
    ['\\s', '\t', true],
    ['\\s', '\v', false],
    ['\\S', ' ', false],
    ['[\\s]', '\f', true],
    ['\\x41', 'A', true],
    ['\\t', '\t', true],
    ['[a-c]+x', 'zzabcx', true],
    ['[^a-c]', 'abc', false],
    ['[]a]', ']', true],
    ['[a-]', '-', true],
    ['[\\d-z]', '-', true],
    ['a|b', 'b', true],
    ['^(a|b)$', 'ab', false],
    ['^(?:ab|cd)+$', 'abcdab', true],
    ['^(?:ab|cd)+$', 'abca', false],
    ['^a{3}$', 'aaa', true],
    ['^a{3}$', 'aa', false],
    ['^a{2,}$', 'aaaaa', true],
    ['^a{2,}$', 'a', false],
    ['^a{1,2}$', 'aaa', false],
    ['^a{0}b$', 'b', true],
    ['^a*?b$', 'aaab', true],
    ['^(a*)*$', 'aaaa', true],
    ['^(a*)*$', 'aaab', false],
    ['^(|a)+$', 'aaa', true],
    ['^*a', 'a', true],
    ['^/api/v[0-9]+/(?P<kind>users|orders)/\\d{1,6}$', '/api/v2/orders/123456', true],
    ['^/api/v[0-9]+/(?P<kind>users|orders)/\\d{1,6}$', '/api/v2/orders/1234567', false],
    ['[é-ü]', 'ö', true],
    ['😀+', 'x😀😀', true],
  ])('%j on %j → %s', (pattern, text, expected) => {
    expect(compileRegex(pattern).test(text)).toBe(expected);
  });

  it('stays linear on patterns that are exponential for backtracking engines', () => {
    // (a|aa)*b and (a*)*b on a long run of a's: a backtracking engine does not finish; this must.
    const text = 'a'.repeat(20000);
    expect(compileRegex('(a|aa)*b').test(text)).toBe(false);
    expect(compileRegex('(a*)*b').test(text)).toBe(false);
    expect(compileRegex('(a|aa)*$').test(text)).toBe(true);
  });

  it('throws HfiError naming the construct for a pattern outside the dialect', () => {
    let thrown: unknown;
    try {
      compileRegex('a(?=b)');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HfiError);
    expect(thrown).toMatchObject({
      code: 'HFI_ERR_POLICY_INVALID',
      message: 'invalid regex: lookahead "(?=" at offset 1 is not supported',
      details: { pattern: 'a(?=b)', construct: 'lookahead', index: 1 },
    });
  });
});
