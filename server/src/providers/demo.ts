// The built-in "demo" model: a clearly labelled, locally generated answer, so Chrome Plus runs end to end without any key.
import { abortReason, delay } from './abort.ts';
import type { Provider, ProviderEvent, ProviderMessage, ProviderRequest } from './types.ts';

export interface DemoProviderOptions {
  /** Pause between words, in ms: slow enough to watch the streaming, fast enough not to bore (default 15). */
  delayMs?: number;
}

const maxQuoteLength = 120;

function textOf(message: ProviderMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content.map((part) => (part.type === 'text' ? part.text : '')).join(' ');
}

/** Chinese when the message has Han characters and no kana (kana would make it Japanese). */
export function looksChinese(text: string): boolean {
  return /[\u4e00-\u9fff\u3400-\u4dbf]/.test(text) && !/[\u3040-\u30ff]/.test(text);
}

function quote(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const short = line.length > maxQuoteLength ? `${line.slice(0, maxQuoteLength - 1)}…` : line;
  // A quoted "```" would open a code block that swallows the rest of the answer.
  return short.replace(/`/g, "'");
}

function englishAnswer(quoted: string): string {
  return `**This is the Chrome Plus demo model.** No model API is configured on this server, so this answer was written by a small built-in script, not by an AI.

You wrote:

> ${quoted === '' ? '(an empty message)' : quoted}

To get real answers, set one of these where the server runs, then restart it:

- \`OPENAI_API_KEY\` for OpenAI, plus \`OPENAI_BASE_URL\` for any other OpenAI-compatible API (Ollama, vLLM, LM Studio, OpenRouter, ...)
- \`DEEPSEEK_API_KEY\` for DeepSeek

For example:

\`\`\`bash
DEEPSEEK_API_KEY=sk-... npm start
\`\`\`

Everything else works the same with the demo model: streaming, closing and reopening the side panel, cancelling.`;
}

function chineseAnswer(quoted: string): string {
  return `**这是 Chrome Plus 的演示模型。** 这台服务器尚未配置任何模型 API，所以这条回答由内置的小脚本生成，而不是由 AI 生成。

你写道：

> ${quoted === '' ? '（空消息）' : quoted}

要获得真正的回答，请在运行服务器的环境中设置以下任一变量，然后重启服务器：

- \`OPENAI_API_KEY\`：用于 OpenAI；使用其他兼容 OpenAI 的 API（Ollama、vLLM、LM Studio、OpenRouter 等）时再加上 \`OPENAI_BASE_URL\`
- \`DEEPSEEK_API_KEY\`：用于 DeepSeek

例如：

\`\`\`bash
DEEPSEEK_API_KEY=sk-... npm start
\`\`\`

其余功能在演示模型下完全相同：流式输出、关闭并重新打开侧边栏、取消生成。`;
}

/**
 * A page translation's batch (client/src/translation-batches.ts: every line `[[n]] text`): each line answered under
 * its own marker with a label instead of a translation, so that the panel shows where translations go, and says it
 * is the demo, rather than reporting every paragraph failed. Undefined for any other message.
 */
export function demoTranslation(text: string): string | undefined {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0 || !lines.every((line) => /^\[\[\d{1,6}\]\] /.test(line))) return undefined;
  return lines
    .map((line) => line.replace(/^(\[\[\d{1,6}\]\]) /, '$1 [demo model: no translation] '))
    .join('\n');
}

/** Splits text into word-sized pieces whose concatenation is the text; whitespace rides with the word before it. */
export function splitWords(text: string, locale: string): string[] {
  const pieces: string[] = [];
  for (const { segment } of new Intl.Segmenter(locale, { granularity: 'word' }).segment(text)) {
    const last = pieces.length - 1;
    if (last >= 0 && /^\s+$/.test(segment)) pieces[last] += segment;
    else pieces.push(segment);
  }
  return pieces;
}

/** A rough token count: a Han character is about one token, other text about four characters a token. */
function roughTokens(text: string): number {
  const han = text.match(/[\u4e00-\u9fff\u3400-\u4dbf]/g)?.length ?? 0;
  return han + Math.ceil((text.length - han) / 4);
}

export function createDemoProvider(options: DemoProviderOptions = {}): Provider {
  const delayMs = options.delayMs ?? 15;

  async function* stream(request: ProviderRequest): AsyncGenerator<ProviderEvent> {
    const { signal } = request;
    const lastUser = request.messages.findLast((message) => message.role === 'user');
    const userText = lastUser === undefined ? '' : textOf(lastUser);
    const chinese = looksChinese(userText);
    const answer =
      demoTranslation(userText) ??
      (chinese ? chineseAnswer(quote(userText)) : englishAnswer(quote(userText)));
    const words = splitWords(answer, chinese ? 'zh' : 'en');
    for (const word of words) {
      if (delayMs > 0) await delay(delayMs, signal);
      else if (signal.aborted) throw abortReason(signal);
      yield { type: 'delta', text: word };
    }
    if (signal.aborted) throw abortReason(signal);
    const promptTokens = request.messages.reduce((sum, message) => sum + roughTokens(textOf(message)), 0);
    yield {
      type: 'finish',
      finishReason: 'stop',
      model: 'demo',
      usage: { promptTokens, completionTokens: roughTokens(answer) },
    };
  }

  return { id: 'demo', stream };
}
