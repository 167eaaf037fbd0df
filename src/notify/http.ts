/** Why a delivery failed, and whether (and when) trying again may help. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    /** 4xx other than 408/429: the request itself is wrong (bad token, bad chat); retrying will not help */
    readonly permanent: boolean,
    /** the service asked us to wait this long (HTTP 429 Retry-After, Telegram retry_after, Discord retry_after) */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A reply is read up to this much; the rest is never read. */
const MAX_REPLY_BYTES = 64 * 1024;

export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * One POST with a deadline. Resolves with the parsed JSON reply (or undefined for an empty one) on 2xx; throws a
 * DeliveryError otherwise. Error texts never carry the URL: it may hold a token.
 */
export async function postJson(req: HttpRequest, timeoutMs: number, cancel?: AbortSignal): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...req.headers },
      body: req.body,
      signal: cancel ? AbortSignal.any([AbortSignal.timeout(timeoutMs), cancel]) : AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    // not followed: the body (and its signature) would go to a place the operator did not configure; the URL needs
    // fixing, so trying again cannot help
    if (/redirect/i.test(e.cause?.message ?? ''))
      throw new DeliveryError('the receiver answered with a redirect (not followed): configure the final URL', true);
    const why =
      e.name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.name);
    throw new DeliveryError(`request failed: ${why}`, false);
  }
  const text = await readCapped(res, MAX_REPLY_BYTES);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (res.ok) return json;
  const body = json as
    | { retry_after?: unknown; parameters?: { retry_after?: unknown }; description?: unknown }
    | undefined;
  const afterS = Number(
    body?.parameters?.retry_after ?? body?.retry_after ?? res.headers.get('retry-after') ?? Number.NaN,
  );
  // Retry-After may also be an HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT"); a bare number is seconds, never a date
  const afterHeader = res.headers.get('retry-after') ?? '';
  const afterDateMs = /[a-z]/i.test(afterHeader) ? Date.parse(afterHeader) - Date.now() : Number.NaN;
  const retryAfterMs =
    Number.isFinite(afterS) && afterS >= 0
      ? Math.ceil(afterS * 1000)
      : Number.isFinite(afterDateMs)
        ? Math.max(0, afterDateMs)
        : undefined;
  const detail = typeof body?.description === 'string' ? `: ${body.description.slice(0, 200)}` : '';
  const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
  throw new DeliveryError(`HTTP ${res.status}${detail}`, permanent, retryAfterMs);
}

/**
 * The reply's first `max` bytes as text, then the stream is cancelled: a receiver that sends an endless or huge body
 * (or trickles it byte by byte) can neither make us hold it nor turn a delivered 2xx into a timeout. A body cut short
 * reads as what arrived so far.
 */
async function readCapped(res: Response, max: number): Promise<string> {
  const body = res.body;
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // the body broke off (timeout, reset): judge the reply by its status and what did arrive
  } finally {
    reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
