/**
 * Reading one cookie from a request's Cookie field(s) (RFC 6265 §5.4: `name=value` pairs joined by
 * `; `; HTTP/2 clients may send several Cookie fields, which fieldValue joins with `, `). The first
 * pair with the name wins, as nginx's $cookie_NAME does. No allocation beyond the value found.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let at = 0;
  while (at < header.length) {
    while (at < header.length && (header[at] === ' ' || header[at] === ';' || header[at] === ',')) at++;
    const end = nextSeparator(header, at);
    const eq = header.indexOf('=', at);
    if (eq > at && eq < end && eq - at === name.length && header.startsWith(name, at)) {
      let value = header.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    at = end + 1;
  }
  return undefined;
}

function nextSeparator(header: string, from: number): number {
  const semi = header.indexOf(';', from);
  const comma = header.indexOf(', ', from);
  const end = semi < 0 ? header.length : semi;
  return comma >= 0 && comma < end ? comma : end;
}
