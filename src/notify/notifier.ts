import type { NotifyConfig } from '../config/schema.js';
import type { AlertEngine } from '../monitor/alerts/engine.js';
import type { AlertEvent } from '../monitor/alerts/history.js';
import type { Component } from '../util/lifecycle.js';
import type { Logger } from '../util/log.js';
import { discordRequest, telegramRequest, webhookRequest } from './formats.js';
import { DeliveryError, type HttpRequest, postJson } from './http.js';
import { DeliveryQueue } from './queue.js';

export type NotifierKind = 'webhook' | 'telegram' | 'discord';

/**
 * Sends alert events to the configured services, each through its own bounded queue. Listens to the alert engine;
 * nothing it does can delay the engine or the mining path.
 */
export class Notifier implements Component {
  readonly name = 'notify';
  readonly queues = new Map<NotifierKind, DeliveryQueue<AlertEvent>>();
  private readonly onAlert = (e: AlertEvent) => this.publish(e);

  constructor(
    private readonly cfg: NotifyConfig,
    private readonly alerts: AlertEngine,
    private readonly log: Logger,
    /** first retry delay (tests shorten it) */
    baseDelayMs = 2000,
  ) {
    const requests: [NotifierKind, ((e: AlertEvent) => HttpRequest) | undefined][] = [
      ['webhook', cfg.webhook_url ? (e) => webhookRequest(cfg.webhook_url, cfg.webhook_hmac_secret, e) : undefined],
      [
        'telegram',
        cfg.telegram_bot_token && cfg.telegram_chat_id
          ? (e) => telegramRequest(cfg.telegram_api_url, cfg.telegram_bot_token, cfg.telegram_chat_id, e)
          : undefined,
      ],
      ['discord', cfg.discord_webhook_url ? (e) => discordRequest(cfg.discord_webhook_url, e) : undefined],
    ];
    const timeoutMs = cfg.timeout_s * 1000;
    for (const [kind, build] of requests) {
      if (!build) continue;
      const send = async (e: AlertEvent, cancel: AbortSignal) => {
        const reply = await postJson(build(e), timeoutMs, cancel);
        // Telegram says ok:false with a description when it did not send
        if (kind === 'telegram' && (reply as { ok?: unknown } | undefined)?.ok !== true)
          throw new DeliveryError('Telegram did not confirm the message (ok is not true)', false);
      };
      this.queues.set(
        kind,
        new DeliveryQueue(
          kind,
          send,
          { max: cfg.queue_max, retries: cfg.retries, baseDelayMs, maxDelayMs: 300_000 },
          log,
        ),
      );
    }
    if (cfg.telegram_bot_token && !cfg.telegram_chat_id)
      log.warn('notify.telegram_bot_token is set but notify.telegram_chat_id is empty: Telegram is off');
  }

  async start(): Promise<void> {
    this.alerts.on('alert', this.onAlert);
    if (this.queues.size) this.log.info({ notifiers: [...this.queues.keys()] }, 'alert notifications on');
  }

  async stop(): Promise<void> {
    this.alerts.off('alert', this.onAlert);
    for (const q of this.queues.values()) q.stop();
  }

  /** Queues an event for every notifier whose severity filter lets it through; returns the notifiers it went to. */
  publish(e: AlertEvent): NotifierKind[] {
    if (e.severity === 'warning' && this.cfg.min_severity === 'critical') return [];
    for (const q of this.queues.values()) q.push(e);
    return [...this.queues.keys()];
  }
}
