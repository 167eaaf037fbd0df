import { createHmac } from 'node:crypto';
import type { AlertEvent } from '../monitor/alerts/history.js';
import type { HttpRequest } from './http.js';

// The requests each service documents, built as plain data so tests can check them byte for byte.

/** Our webhook: the event as JSON; with a secret, X-Asicd-Signature-256 = "sha256=" + HMAC-SHA256(secret, body). */
export function webhookRequest(url: string, hmacSecret: string, e: AlertEvent): HttpRequest {
  const body = JSON.stringify({ source: 'asicd', ...e, at: new Date(e.atMs).toISOString() });
  const headers: Record<string, string> = { 'user-agent': 'asicd' };
  if (hmacSecret) headers['x-asicd-signature-256'] = `sha256=${signBody(hmacSecret, body)}`;
  return { url, headers, body };
}

export function signBody(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

/** One line a person reads: what, where, how bad. */
export function alertText(e: AlertEvent): string {
  const mark = e.state === 'resolved' ? 'RESOLVED' : e.severity === 'critical' ? 'CRITICAL' : 'WARNING';
  return `[${mark}] ${e.miner}: ${e.message}`;
}

/** Telegram Bot API sendMessage: POST {api}/bot{token}/sendMessage with chat_id and text (at most 4096 characters). */
export function telegramRequest(apiUrl: string, token: string, chatId: string, e: AlertEvent): HttpRequest {
  return {
    url: `${apiUrl.replace(/\/+$/, '')}/bot${token}/sendMessage`,
    headers: {},
    body: JSON.stringify({
      chat_id: chatId,
      text: alertText(e).slice(0, 4096),
      // a resolve needs no buzz
      disable_notification: e.state === 'resolved',
    }),
  };
}

/**
 * Discord "execute webhook": POST the webhook URL with content (at most 2000 characters); no pings, whatever a pool's
 * error text says (allowed_mentions.parse empty). Discord answers 204 No Content.
 */
export function discordRequest(webhookUrl: string, e: AlertEvent): HttpRequest {
  return {
    url: webhookUrl,
    headers: {},
    body: JSON.stringify({ content: alertText(e).slice(0, 2000), username: 'asicd', allowed_mentions: { parse: [] } }),
  };
}
