// Reviews, critiques and the six narrative kinds of the synthetic data, from templates filled with the
// items' own attributes. Lengths follow REGEN's table: one sentence (purchase reason), paragraphs
// (explanation, endorsement, long summary), one or two sentences (brief summary), a phrase (profile).
import type { Catalogue, Rand } from './catalogue.js';
import { NARRATIVE, REVIEW, type Dim } from './vocab.js';

/** "a" before a vowel sound becomes "an" (not before "u": "a user", "a USB"). */
const articles = (s: string) => s.replace(/\b([Aa]) ([aeioAEIO])/g, '$1n $2');
const fill = (template: string, vars: Record<string, string>) => articles(template.replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? ''));
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const lower = (s: string) => s.toLowerCase();

/** Nouns like "pens", "jeans", "scissors" take plural agreement. */
export const isPlural = (noun: string) => /[^s]s$/i.test(noun) || /jeans|pants|scissors|shorts|tights|leggings/i.test(noun);

/** Agreement words for a noun: {this} {is} {it} {a} ... */
export function agreement(noun: string): Record<string, string> {
  const p = isPlural(noun);
  return p
    ? { this: 'these', This: 'These', is: 'are', was: 'were', it: 'they', It: 'They', obj: 'them', Its: 'Their', works: 'work', holds: 'hold', looks: 'look', comes: 'come', makes: 'make', a: '' }
    : { this: 'this', This: 'This', is: 'is', was: 'was', it: 'it', It: 'It', obj: 'it', Its: 'Its', works: 'works', holds: 'holds', looks: 'looks', comes: 'comes', makes: 'makes', a: 'a ' };
}

/** "pen" -> "pens", "boots" stays, "accessory" -> "accessories", "watch" -> "watches". */
export function plural(noun: string): string {
  if (isPlural(noun)) return noun;
  if (/(s|x|ch|sh)$/i.test(noun)) return `${noun}es`;
  if (/[^aeiou]y$/i.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}

/** What an item's texts say about it, whatever the random draws (computed once per item). */
interface ItemWords {
  base: Record<string, string>;
  dims: string[];
}
const wordsCache = new WeakMap<Catalogue, (ItemWords | undefined)[]>();

function itemWords(cat: Catalogue, item: number): ItemWords {
  let cache = wordsCache.get(cat);
  if (!cache) wordsCache.set(cat, (cache = new Array(cat.count)));
  let w = cache[item];
  if (!w) {
    const dims: string[] = [];
    for (let k = 0; k < 3; k++) {
      const d = cat.dimText(item, k);
      if (d) dims.push(lower(d));
    }
    const noun = cat.noun(item);
    w = cache[item] = { base: { ...agreement(noun), noun: lower(noun), brand: cat.brandText(item), feature: lower(cat.featureText(item)) }, dims };
  }
  return w;
}

export function itemVars(cat: Catalogue, item: number, r: Rand): Record<string, string> {
  const w = itemWords(cat, item);
  return { ...w.base, dim: w.dims.length ? r.pick(w.dims) : 'size', use: r.pick(cat.domain.uses) };
}

/** A 1-5 rating: Amazon's skew to 5 stars, moved by the item's quality. */
export function drawRating(r: Rand, quality: number): number {
  const x = r.next() + quality * 0.15;
  return x > 0.4 ? 5 : x > 0.2 ? 4 : x > 0.11 ? 3 : x > 0.05 ? 2 : 1;
}

export function review(cat: Catalogue, item: number, rating: number, r: Rand): { summary: string; text: string } {
  const v = itemVars(cat, item, r);
  const tone = rating >= 4 ? 'good' : rating === 3 ? 'mixed' : 'bad';
  const sentences = [fill(r.pick(REVIEW.opening[rating]), v)];
  const middle = REVIEW.middle[tone];
  const n = 1 + r.int(rating === 5 ? 3 : 4);
  const used = new Set<number>();
  for (let i = 0; i < n; i++) {
    const k = r.int(middle.length);
    if (used.has(k)) continue;
    used.add(k);
    sentences.push(fill(middle[k], { ...v, use: r.pick(cat.domain.uses) }));
  }
  const closing = r.pick(REVIEW.closing[tone]);
  if (closing) sentences.push(closing);
  return { summary: r.pick(REVIEW.summary[rating]), text: sentences.join(' ') };
}

export type ChangeKind = 'variant' | 'brand' | 'leaf' | 'feature' | 'cheaper' | 'premium' | 'repeat';

export interface Transition {
  kind: ChangeKind;
  /** For 'variant': the dim that changed. */
  dim?: Dim;
  /** The value the critique asks for (the next item's), and the one it moves away from. */
  newValue: string;
  oldValue: string;
  /** For variant: the value indices (to say bigger / smaller). */
  newIndex?: number;
  oldIndex?: number;
}

export function critiqueText(t: Transition, prevNoun: string, r: Rand): string {
  const up = (t.newIndex ?? 0) > (t.oldIndex ?? 0);
  const vars = {
    new: t.newValue,
    old: t.oldValue,
    bigger: up ? 'bigger' : 'smaller',
    oldIs: up ? 'small' : 'big',
    up: up ? 'up' : 'down',
    longer: up ? 'longer' : 'shorter',
    oldLen: up ? 'short' : 'long',
    noun: lower(prevNoun),
  };
  let s: string;
  switch (t.kind) {
    case 'variant':
      s = fill(r.pick(t.dim!.ask), vars);
      break;
    case 'brand':
      s = fill(r.pick(['Something from {new} this time.', 'I would like to try {new} instead of {old}.', 'Not {old} again, show me {new}.', 'Same kind of {noun}, but by {new}.']), vars);
      break;
    case 'leaf':
      s = fill(r.pick(['I need {new}, not {old}.', 'Actually, {new} would work better than {old}.', 'Show me {new} instead.']), { ...vars, new: lower(t.newValue), old: lower(t.oldValue) });
      break;
    case 'feature':
      s = fill(r.pick(['I want one that is {new}.', 'Something {new} this time.', 'It has to be {new}.', 'The same but {new}, please.']), { ...vars, new: lower(t.newValue) });
      break;
    case 'cheaper':
      s = fill(r.pick(['Something cheaper, under {new}.', 'That was too expensive, I want to stay below {new}.', 'A budget option under {new}, please.']), vars);
      break;
    case 'premium':
      s = fill(r.pick(['Better quality this time, I can spend around {new}.', 'I do not mind paying more, up to {new}, for something that lasts.', 'A premium one, around {new}.']), vars);
      break;
    case 'repeat':
      s = fill(r.pick(['The same one again, please.', 'I ran out, I need the exact same {noun}.', 'Reorder the same {noun}, it worked well.']), vars);
      break;
  }
  return s;
}

export interface NarrativeContext {
  cat: Catalogue;
  history: number[];
  ratings: number[];
  last: number;
  prev: number | null;
  /** The transition into the last purchase, when it was critiqued. */
  transition: Transition | null;
  favoriteUse: string;
  profileWords: [string, string];
}

function topNouns(ctx: NarrativeContext, n: number): string[] {
  const counts = new Map<string, number>();
  for (const it of ctx.history) {
    const k = lower(ctx.cat.noun(it));
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n).map(([k]) => k);
}

/** The brand bought most, or null when none was bought twice. */
function topBrand(ctx: NarrativeContext): string | null {
  const counts = new Map<string, number>();
  for (const it of ctx.history) counts.set(ctx.cat.brandText(it), (counts.get(ctx.cat.brandText(it)) ?? 0) + 1);
  const [name, n] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  return n >= 2 ? name : null;
}

const list = (xs: string[]) => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);
const money = (p: number) => `$${p.toFixed(2)}`;

function shortTitle(cat: Catalogue, item: number): string {
  return `${cat.brandText(item)} ${cat.noun(item)}`;
}

export function narratives(ctx: NarrativeContext, r: Rand): Record<'purchaseReason' | 'purchaseReasonExplanation' | 'productEndorsement' | 'userSummaryBrief' | 'userSummaryLong' | 'userProfile', string> {
  const { cat, last, prev, transition: t } = ctx;
  const noun = lower(cat.noun(last));
  const prevNoun = prev === null ? noun : lower(cat.noun(prev));
  const v: Record<string, string> = { ...itemVars(cat, last, r), use: ctx.favoriteUse, prevNoun, title: shortTitle(cat, last), category: lower(cat.categoryPath(last)[2]) };
  const whyKind = t ? (t.kind === 'repeat' ? 'repeat' : 'critique') : prev !== null && r.chance(0.6) ? 'related' : 'fresh';
  const why = fill(r.pick(NARRATIVE.why[whyKind]), { ...v, critiqueValue: t ? lower(t.newValue) : '', oldValue: t ? lower(t.oldValue) : '' });
  const purchaseReason = fill(r.pick(NARRATIVE.reason), { ...v, why });

  const nouns = topNouns(ctx, 3).map(plural);
  const brand = topBrand(ctx);
  const avg = ctx.ratings.reduce((a, b) => a + b, 0) / ctx.ratings.length;
  const mood = avg >= 4.3 ? 'generally happy with what they buy' : avg >= 3.5 ? 'mostly satisfied, with the occasional disappointment' : 'hard to please';
  const lastPrice = cat.price[last];
  const explanation = [
    `Looking at this user's ${ctx.history.length} purchases, they keep coming back to ${list(nouns)}, ${brand ? `with ${brand} showing up more than any other brand` : 'without sticking to one brand'}.`,
    prev !== null
      ? `Their previous purchase was the ${shortTitle(cat, prev)}, and the ${noun} ${isPlural(noun) ? 'fit' : 'fits'} naturally after it${t ? ': they asked for ' + lower(t.newValue) + ' rather than ' + lower(t.oldValue) + ', and this item is exactly that' : ''}.`
      : `This was their first purchase of this kind.`,
    `They use these things for ${ctx.favoriteUse}, so ${v.a}${v.feature} ${noun} ${v.was} a sensible choice.`,
    `At ${money(lastPrice)} it sits ${lastPrice < cat.types[cat.type[last]].spec.price ? 'below' : 'above'} the typical price of its category, which matches how they shop.`,
    `Their reviews show someone ${mood}, and this purchase continues that pattern.`,
  ]
    .map(articles)
    .join(' ');

  const dims: string[] = [];
  for (let k = 0; k < 3; k++) {
    const d = cat.dimText(last, k);
    if (d) dims.push(d);
  }
  const endorsement = [
    r.pick([`Meet the ${cat.title[last]}.`, `Looking for ${v.a || 'some '}${noun} that just ${v.works}? Try the ${cat.title[last]}.`, `The ${cat.title[last]} is built for people who care about the details.`]),
    `${v.Its} ${v.feature} design ${v.makes} ${v.obj} a great fit for ${r.pick(cat.domain.uses)}, and ${cat.brandText(last)} backs ${v.obj} with the quality the brand is known for.`,
    dims.length ? `${v.It} ${v.comes} in ${list(dims.map(lower))}, so you get exactly the version you need.` : `${v.It} ${v.is} simple, sturdy and ready to use out of the box.`,
    `Customers keep reordering ${v.obj} because ${v.it} ${v.holds} up to daily use without fuss.`,
    `At ${money(lastPrice)}, it is an easy upgrade you will be glad you made.`,
  ]
    .map(articles)
    .join(' ');

  const brief = articles(
    `A ${lower(ctx.profileWords[0])} shopper who mostly buys ${list(nouns.slice(0, 2))} for ${ctx.favoriteUse}` +
      (brand && r.chance(0.5) ? `, and who tends to stick with ${brand}.` : `. They value ${v.feature} products and fair prices.`),
  );
  const long = [
    `This user has made ${ctx.history.length} purchases, mostly ${list(nouns)}.`,
    `They shop with a clear purpose: most of what they buy is for ${ctx.favoriteUse}.`,
    brand
      ? `${brand} is the brand they return to most, although they are willing to try others when something does not fit their needs.`
      : `They try different brands rather than sticking to one, looking for what fits their needs best.`,
    t ? `They know what they want and say so, for example asking for ${lower(t.newValue)} instead of ${lower(t.oldValue)}.` : `Their choices are consistent from one purchase to the next.`,
    `Their reviews suggest they are ${mood}.`,
    `They pay attention to details such as ${lower(cat.types[cat.type[last]].dims[0]?.name ?? 'size')} and price, and they rarely buy on impulse.`,
    `Overall, they are a ${lower(ctx.profileWords[0])} ${ctx.profileWords[1]} who values reliable, practical products.`,
  ]
    .map(articles)
    .join(' ');
  const profile = `${cap(ctx.profileWords[0])} ${r.chance(0.4) ? 'and practical ' : ''}${ctx.profileWords[1]}`;
  return { purchaseReason, purchaseReasonExplanation: explanation, productEndorsement: endorsement, userSummaryBrief: brief, userSummaryLong: long, userProfile: profile };
}
