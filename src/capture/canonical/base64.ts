/** Binary values travel as standard padded base64; anything else is refused, never guessed at. */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Whether `text` is padded standard base64 whose unused trailing bits are zero (so it is the one encoding of its bytes). */
export function isCanonicalBase64(text: string): boolean {
  return BASE64.test(text) && Buffer.from(text, 'base64').toString('base64') === text;
}
