ALTER TABLE `webhook_attempts` ADD `request_headers` text;--> statement-breakpoint
ALTER TABLE `webhook_attempts` ADD `response_headers` text;--> statement-breakpoint
ALTER TABLE `webhook_attempts` ADD `response_body` text;