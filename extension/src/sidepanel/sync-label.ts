// The small "not synced yet" mark on what the server's history has not recorded (a message, a conversation).
import { t } from '../shared/i18n.ts';

export function syncPendingLabel(): HTMLElement {
  const label = document.createElement('span');
  label.className = 'sync-pending';
  label.dataset.testid = 'sync-pending';
  label.textContent = t('notSynced');
  label.title = t('notSyncedTitle');
  return label;
}
