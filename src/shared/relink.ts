/**
 * Rewrites the links in a message (HTML or plain text) that point at the register's public
 * origin so they point at `here` instead. Only links whose origin equals the public origin
 * exactly are rewritten (scheme, host and port, parsed with URL): a plain substring replace
 * would also turn http://localhost:50010/… into a link on this register when the public
 * origin is http://localhost:5001.
 */
export function relinkToOrigin(text: string, publicOrigin: string, here: string): string {
  let from: string;
  try {
    from = new URL(publicOrigin).origin;
  } catch {
    return text;
  }
  // A URL ends at whitespace, a quote, an angle bracket or a parenthesis, as it does in the
  // HTML attributes and plain-text bodies the register writes.
  return text.replace(/https?:\/\/[^\s"'<>()]+/gi, (link) => {
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      return link;
    }
    if (url.origin !== from) return link;
    // Keep the rest of the link byte for byte (its path, query and fragment as written).
    const rest = link.slice(link.indexOf('//') + 2).search(/[/?#]/);
    return here + (rest === -1 ? '' : link.slice(link.indexOf('//') + 2 + rest));
  });
}
