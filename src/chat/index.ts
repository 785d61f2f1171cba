/** Chat: templates, prompt encoding, built-in formats, tool calling, conversations. */
export type { ChatRole, ChatContent, ChatContentPart, ChatMessage, ChatToolCall, ToolDefinition, BuiltinToolName, JsonValue, JsonObject } from './types.js';
export { contentText } from './types.js';
export { ChatTemplate, chatTemplateFor, renderChatTemplate, templateVariables, type ChatTemplateOptions } from './template.js';
export { ChatTemplateError } from './template-error.js';
export { encodeChat, renderChat, piecesToIds, type EncodeChatOptions, type EncodedChat } from './encode.js';
export { detectChatFormat, formatChat, piecesToText, type ChatFormatName, type ChatFormatOptions, type ChatPiece } from './formats.js';
export {
  ToolCallStreamParser,
  parseAssistantMessage,
  assistantMessageFromParsed,
  toolResultMessage,
  BUILTIN_TOOLS,
  type ParsedToolCall,
  type BuiltinToolCall,
  type ParsedAssistantMessage,
  type ToolStreamEvent,
  type FinishOptions,
} from './tools.js';
export { Conversation, type ConversationOptions, type FitOptions, type FitResult } from './conversation.js';
export { pyJsonDumps } from './py-json.js';
