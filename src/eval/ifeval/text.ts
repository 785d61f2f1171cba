/**
 * Text measures IFEval's checks rely on, written to behave like the Python they are defined with
 * (str.isupper/islower, `\w+` word counts, the reference sentence splitter's rules).
 */

/** Python's `\w+` word count (nltk RegexpTokenizer(r"\w+")): Unicode letters, marks, digits, underscore. */
export function countWords(text: string): number {
  return (text.match(/[\p{L}\p{M}\p{N}_]+/gu) ?? []).length;
}

const isCased = (ch: string): boolean => ch.toLowerCase() !== ch.toUpperCase();

/** Python str.isupper(): at least one cased character and none of them lower case. */
export function pyIsUpper(s: string): boolean {
  let cased = false;
  for (const ch of s) {
    if (!isCased(ch)) continue;
    if (ch !== ch.toUpperCase()) return false;
    cased = true;
  }
  return cased;
}

/** Python str.islower(): at least one cased character and none of them upper case. */
export function pyIsLower(s: string): boolean {
  let cased = false;
  for (const ch of s) {
    if (!isCased(ch)) continue;
    if (ch !== ch.toLowerCase()) return false;
    cased = true;
  }
  return cased;
}

const PRD = '\u0001';
const STOP = '\u0002';

/**
 * Sentence count. The reference counts with nltk's punkt model, which cannot be reproduced without
 * it; this follows the rule-based splitter IFEval ships beside it (abbreviations such as "Mr.",
 * initials, acronyms, decimals, web domains and ellipses do not end a sentence; ".", "?" and "!"
 * do, with a closing quote kept inside). Counts can differ from punkt's on unusual text.
 */
export function countSentences(text: string): number {
  let t = ` ${text}  `.replace(/\n/g, ' ');
  t = t.replace(/(Mr|St|Mrs|Ms|Dr)[.]/g, `$1${PRD}`);
  t = t.replace(/[.](com|net|org|io|gov|edu|me)/g, `${PRD}$1`);
  t = t.replace(/([0-9])[.]([0-9])/g, `$1${PRD}$2`);
  t = t.replace(/\.{2,}/g, (m) => PRD.repeat(m.length) + STOP);
  t = t.split('Ph.D.').join(`Ph${PRD}D${PRD}`);
  t = t.replace(/\s([A-Za-z])[.] /g, ` $1${PRD} `);
  const starters = '(Mr|Mrs|Ms|Dr|Prof|Capt|Cpt|Lt|He\\s|She\\s|It\\s|They\\s|Their\\s|Our\\s|We\\s|But\\s|However\\s|That\\s|This\\s|Wherever)';
  t = t.replace(new RegExp(`([A-Z][.][A-Z][.](?:[A-Z][.])?) ${starters}`, 'g'), `$1${STOP} $2`);
  t = t.replace(/([A-Za-z])[.]([A-Za-z])[.]([A-Za-z])[.]/g, `$1${PRD}$2${PRD}$3${PRD}`);
  t = t.replace(/([A-Za-z])[.]([A-Za-z])[.]/g, `$1${PRD}$2${PRD}`);
  t = t.replace(new RegExp(` (Inc|Ltd|Jr|Sr|Co)[.] ${starters}`, 'g'), ` $1${STOP} $2`);
  t = t.replace(/ (Inc|Ltd|Jr|Sr|Co)[.]/g, ` $1${PRD}`);
  t = t.replace(/ ([A-Za-z])[.]/g, ` $1${PRD}`);
  t = t.split('.\u201d').join('\u201d.').split('."').join('".').split('!"').join('"!').split('?"').join('"?');
  t = t.replace(/([.?!])/g, `$1${STOP}`).split(PRD).join('.');
  const parts = t.split(STOP).map((s) => s.trim());
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.filter((s) => s !== '').length;
}

/** Python's json.loads acceptance (JSON.parse is the same grammar, bar NaN/Infinity which json.loads also takes). */
export function isJson(text: string): boolean {
  try {
    JSON.parse(text.replace(/\bNaN\b|-?\bInfinity\b/g, '0'));
    return true;
  } catch {
    return false;
  }
}

/** Escapes a literal for use inside a RegExp (IFEval puts keywords into patterns unescaped; see checks.ts). */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
