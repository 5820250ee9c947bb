// Writes test/golden/text-cases.json: the adversarial corpus the golden numbers are computed on.
// Deterministic (seeded); rerun only to change the corpus, then regenerate text-golden.json
// with reference.py (see README.md in this folder).
import { writeFileSync } from 'node:fs';

let seed = 20261125;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const pick = (a) => a[Math.floor(rand() * a.length)];

// Hand-written segments: the edge cases of the two references' tokenizers and formulas.
const fixed = [
  // empty, whitespace only, punctuation only
  ['', ['']], ['', ['a reference that still counts its length']], ['some hypothesis', ['']],
  ['   ', ['\t\n ']], ['...', ['!!!']], ['?!', ['?!']], ['- - -', ['—–-']],
  // sacrebleu / rouge-score test-suite shapes
  ['The cat sat on the mat.', ['The cat is on the mat.', 'There is a cat on the mat.']],
  ['It is a guide to action which ensures that the military always obeys the commands of the party.',
    ['It is a guide to action that ensures that the military will forever heed Party commands.',
     'It is the guiding principle which guarantees the military forces always being under the command of the Party.',
     'It is the practical guide for the army always to heed the directions of the party.']],
  ['testing one two', ['testing']], ['testing', ['testing one two']],
  ['one two three four', ['one two three four']], ['one two three four', ['four three two one']],
  ['a b c d e f', ['a b c', 'd e f']],
  // numbers, prices, units
  ['0.5mm, not 0.7mm', ['I need 0.5mm lead, not 0.7mm.']], ['$12.99 vs. $13,000.50', ['costs $12.99 (was $13,000.50)']],
  ['3-4 inches, 10-pack', ['3 - 4 inch 10-pack']], ['1,000,000. 2.5. .5 5.', ['1,000,000 2.5 .5 5']],
  ['a.b,c.d e.,f ,.g', ['a. b, c. d']], ['x..y,,z', ['x . . y , , z']], ['9.-1 8,-2 -3.', ['9 . -1']],
  // HTML entities and tags
  ['&quot;quoted&quot; &amp; &lt;tag&gt; &amp;quot; &apos;', ['"quoted" & <tag> &quot;']],
  ['<skipped> text <skipped>', ['text']], ['AT&amp;T &AMP; R&amp;D', ['AT&T R&D']],
  ['line-\nbreak and\nnewline', ['linebreak and newline']],
  // unicode
  ['Café naïve résumé façade', ['cafe naive resume facade']], ['東京は日本の首都です。', ['東京は 日本の 首都 です 。']],
  ['emoji 😀 test 👍🏽 ok', ['emoji 😀test ok 👍🏽']], ['😀.😀,😀', ['😀 . 😀']],
  ['\u212aelvin \u212a 5\u212a', ['kelvin k 5k']], ['\u0130stanbul \u0130I', ['istanbul ii']],
  ['nbsp\u00a0here and\u202fthere\u3000wide', ['nbsp here and there wide']],
  ['nel\u0085sep \x1cfs\x1dgs\x1ers\x1fus', ['nel sep fs gs rs us']],
  ['\ufeffbom start', ['bom start']], ['zero\u200bwidth space', ['zero width space']],
  ['ogham\u1680space en\u2002em\u2003thin\u2009hair\u200a.', ['ogham space en em thin hair .']],
  ['line\u2028sep para\u2029sep', ['line sep para sep']], ['mmsp\u205fx \u180emvs', ['mmsp x mvs']],
  ['ΣΊΣΥΦΟΣ ΑΣ Σ', ['σίσυφος ας σ']], ['STRASSE Straße ǅ ǈ', ['strasse strasse']],
  ['ﬁne ﬂow', ['fine flow']], ['ABC abc ÀÉÎ', ['abc abc àéî']],
  ['lone \ud800 surrogate \udc00 x', ['lone surrogate x']],
  ['combining e\u0301 a\u0308', ['e a']], ['tab\there\r\nCRLF\r\nend', ['tab here\nCRLF\nend']],
  // CRLF and rougeLsum sentences
  ['first sentence.\r\nsecond sentence.\r\n', ['first sentence.\nsecond sentence.']],
  ['the cat\nsat on the mat', ['sat on the mat\nthe cat']], ['the cat sat on the mat', ['sat on the mat the cat']],
  ['a b a b\nb a b a', ['a b\nb a\na b a b']], ['w1 w2 w3\nw3 w2 w1\n\n\nw1', ['w1 w3\nw2\nw3 w1 w2 w3']],
  ['x y z\n', ['\n\nx y z']], ['only\n\n\n', ['\n']], ['.\n.\n', ['a\nb']],
  // stemming
  ['running runs ran runner easily fairly', ['run running runs easy fair']],
  ['skies dying lying tying news innings outings cannings howe proceed exceed succeed',
    ['sky die lie tie news inning outing canning howe proceed exceed succeed']],
  ['generalization generalizations relational conditional rational valenci hesitanci',
    ['general generalize relate condition rate valence hesitance']],
  ['caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized hopping tanned falling hissing fizzed failing filing happy sky',
    ['caress poni tie caress cat feed agre plaster bled motor sing conflat troubl size hop tan fall hiss fizz fail file happi sky']],
  // repeated n-grams (clipping)
  ['the the the the the the the', ['the cat is on the mat']], ['a a a b b b', ['a b a b a b']],
];

const vocab = ('the a an of to and in is for on with this that it was as at by from item pen paper office chair desk lamp ' +
  'black blue ink gel pack set fine tip 0.5mm 0.7mm $12.99 10-pack 3-4 user likes buys prefers quality durable ' +
  'comfortable stylish practical running runs runner generalization relational happily sky skies news innings').split(' ');
const punct = ['.', ',', '!', '?', ';', ':', '-', '(', ')', '"', "'", '&quot;', '&amp;', '/', '...', '—', '–', '“', '”'];
const spaces = [' ', ' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u200b', '\ufeff', '\u0085', '\x1c'];
const exotic = ['\u212a', '\u0130', 'é', 'Σ', '東京', '😀', '👍🏽', 'İI', 'ǅ', 'ß', '\u0301'];

function sentence(len) {
  let s = '';
  for (let i = 0; i < len; i++) {
    let w = pick(vocab);
    const r = rand();
    if (r < 0.15) w = w[0].toUpperCase() + w.slice(1);
    else if (r < 0.2) w = w.toUpperCase();
    else if (r < 0.23) w = pick(exotic) + w;
    s += w;
    if (rand() < 0.2) s += pick(punct);
    s += i + 1 < len ? pick(spaces) : '';
  }
  return s + (rand() < 0.7 ? pick(['.', '!', '?', ' .', '']) : '');
}

const generated = [];
for (let i = 0; i < 300; i++) {
  const hyp = sentence(Math.floor(rand() * 40));
  const nrefs = 1 + Math.floor(rand() * 3);
  const refs = [];
  for (let r = 0; r < nrefs; r++) {
    // references share words with the hypothesis so that higher-order n-grams match
    const mix = rand() < 0.5 ? hyp.split(' ').filter(() => rand() < 0.8).join(' ') : sentence(Math.floor(rand() * 40));
    refs.push(mix);
  }
  generated.push([hyp, refs]);
}
// a very long text
const long = Array.from({ length: 3000 }, () => pick(vocab)).join(' ');
generated.push([long, [long.split(' ').reverse().join(' ')]]);

const segments = [...fixed, ...generated].map(([hyp, refs]) => ({ hyp, refs }));

const words = new Set([
  'caresses', 'ponies', 'ties', 'caress', 'cats', 'feed', 'agreed', 'plastered', 'bled', 'motoring', 'sing', 'conflated',
  'troubled', 'sized', 'hopping', 'tanned', 'falling', 'hissing', 'fizzed', 'failing', 'filing', 'happy', 'sky', 'skies',
  'relational', 'conditional', 'rational', 'valenci', 'hesitanci', 'digitizer', 'conformabli', 'radicalli', 'differentli',
  'vileli', 'analogousli', 'vietnamization', 'predication', 'operator', 'feudalism', 'decisiveness', 'hopefulness',
  'callousness', 'formaliti', 'sensitiviti', 'sensibiliti', 'triplicate', 'formative', 'formalize', 'electriciti',
  'electrical', 'hopeful', 'goodness', 'revival', 'allowance', 'inference', 'airliner', 'gyroscopic', 'adjustable',
  'defensible', 'irritant', 'replacement', 'adjustment', 'dependent', 'adoption', 'homologou', 'communism', 'activate',
  'angulariti', 'homologous', 'effective', 'bowdlerize', 'probate', 'rate', 'cease', 'controll', 'roll', 'generously',
  'fully', 'logically', 'analogies', 'apologi', 'dying', 'lying', 'tying', 'news', 'innings', 'outings', 'cannings',
  'howe', 'proceed', 'exceed', 'succeed', 'ied', 'dies', 'cried', 'died', 'yyyy', 'syzygy', 'toyed', 'a1b2', '1234',
  'ssss', 'eeee', 'ying', 'eed', 'bleed', 'hoping', 'hopping', 'filing', 'filling', 'ation', 'alli', 'ally', 'fulli',
]);
for (let i = 0; i < 400; i++) {
  let w = '';
  const len = 4 + Math.floor(rand() * 10);
  for (let k = 0; k < len; k++) w += pick('aeiouybcdlmnrstgz0123'.split(''));
  words.add(w + pick(['', 'ing', 'ed', 'ies', 'ational', 'izer', 'ousness', 'ful', 'ness', 'ement', 'ion', 'e', 'll', 'logi', 'alli', 'y']));
}

const bootstrap = [
  { seed: 0, n_samples: 1000, segments: Array.from({ length: 60 }, (_, i) => i) },
  { seed: 42, n_samples: 500, segments: Array.from({ length: 200 }, (_, i) => i + 20) },
  { seed: 7, n_samples: 100, segments: [3] },
];

writeFileSync(new URL('./text-cases.json', import.meta.url), JSON.stringify({ segments, words: [...words], bootstrap }, null, 0) + '\n');
console.log(`${segments.length} segments, ${words.size} words`);
