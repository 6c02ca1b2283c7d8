import 'reflect-metadata';
import { IsNotEmpty, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';

/** `POST /mcp/tools/call`: a tool by its exposed name (`{alias}-{tool}`), and its arguments. */
export class ToolCallDto {
  @IsString({ message: 'name is required: the tool name as listed, e.g. "github-create_issue"' })
  @IsNotEmpty({ message: 'name is required: the tool name as listed, e.g. "github-create_issue"' })
  @MaxLength(512)
  name: string;

  @IsOptional()
  @IsObject({ message: 'arguments must be a JSON object of the tool arguments' })
  arguments?: Record<string, unknown>;
}

/** `POST /mcp-rest/tools/call`: optionally with the server (id, name or alias) the name belongs to. */
export class RestToolCallDto extends ToolCallDto {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  server_id?: string;
}
