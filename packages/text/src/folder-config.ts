/** The config.json of a Hugging Face model folder, read and parsed for the loaders (not exported from the package). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '@parry/core';
import { type EncoderConfig, parseHfConfig } from './config.js';

/** `dir/config.json` (raw JSON and parsed into an {@link EncoderConfig}); unreadable JSON is one InputError naming the file. */
export function readFolderConfig(dir: string): { configFile: string; json: Record<string, unknown>; config: EncoderConfig } {
  const configFile = path.join(dir, 'config.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  } catch (e) {
    throw new InputError(`${configFile} is not readable JSON (${(e as Error).message}); re-download the model or fix the file`);
  }
  return { configFile, json, config: parseHfConfig(json, configFile) };
}
