"""Chat models: implementations of the chat-model port (`companion.domain.chat.ChatModel`)."""
