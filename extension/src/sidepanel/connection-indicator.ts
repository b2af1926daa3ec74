// The header's connection state (dot, label, retry countdown) and the banner for a refused token.
import type { ConnectionStatus } from '@chrome-plus/client';
import { required } from '../shared/dom.ts';
import { t } from '../shared/i18n.ts';

/** What the connection means for an answer on its way. */
export type ConnectionProblem = 'none' | 'reconnecting' | 'offline';

export class ConnectionIndicator {
  private readonly status = required<HTMLElement>('[data-testid="connection-status"]');
  private readonly label = required<HTMLElement>('.connection-label');
  private readonly banner = required<HTMLElement>('[data-testid="unauthorized-banner"]');
  private timer: ReturnType<typeof setTimeout> | undefined;
  private everConnected = false;
  private current: ConnectionProblem = 'none';

  get problem(): ConnectionProblem {
    return this.current;
  }

  /** Shows `status`; returns what it means for the answers. */
  show(status: ConnectionStatus): ConnectionProblem {
    clearTimeout(this.timer);
    const state =
      status.state === 'connected' ? 'connected' : status.state === 'connecting' ? 'connecting' : 'offline';
    this.status.dataset.state = state;
    this.status.dataset.reason = status.state;
    this.banner.hidden = status.state !== 'unauthorized';
    if (status.state === 'connected') this.label.textContent = t('statusConnected');
    else if (status.state === 'connecting') this.label.textContent = t('statusConnecting');
    else if (status.state === 'unauthorized') this.label.textContent = t('statusUnauthorized');
    else this.showRetryCountdown(status.retryAt);

    if (status.state === 'connected') this.everConnected = true;
    // A panel that never reached the server is offline; one that lost it is reconnecting.
    this.current =
      status.state === 'connected' || (status.state === 'connecting' && !this.everConnected)
        ? 'none'
        : this.everConnected && status.state !== 'unauthorized'
          ? 'reconnecting'
          : 'offline';
    return this.current;
  }

  private showRetryCountdown(retryAt: number | undefined): void {
    const seconds = retryAt !== undefined ? Math.ceil((retryAt - Date.now()) / 1000) : 0;
    this.label.textContent = seconds > 0 ? t('statusOfflineRetry', [String(seconds)]) : t('statusOffline');
    if (seconds > 0) this.timer = setTimeout(() => this.showRetryCountdown(retryAt), 1_000);
  }
}
