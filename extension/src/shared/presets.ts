// The saved prompts: the user's own, or until they save some, a few built-in ones in the browser's language.
import { t } from './i18n.ts';
import type { PromptPreset, Settings } from './settings.ts';

export function builtInPresets(): PromptPreset[] {
  return [
    { id: 'proofread', name: t('presetProofreadName'), text: t('presetProofreadText') },
    { id: 'simplify', name: t('presetSimplifyName'), text: t('presetSimplifyText') },
    { id: 'reply', name: t('presetReplyName'), text: t('presetReplyText') },
  ];
}

export function presetsOf(settings: Pick<Settings, 'presets'>): PromptPreset[] {
  return settings.presets ?? builtInPresets();
}
