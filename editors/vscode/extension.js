// The tenet extension: starts `tenet lsp` and connects it to VS Code.
'use strict';

const path = require('path');
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function serverOptions() {
  const config = vscode.workspace.getConfiguration('tenet');
  const command = config.get('path') || 'tenet';
  const args = ['lsp'];
  return { command, args, transport: TransportKind.stdio };
}

function initializationOptions() {
  const config = vscode.workspace.getConfiguration('tenet');
  let model = config.get('model') || '';
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  if (model && folder && !path.isAbsolute(model)) {
    model = path.join(folder.uri.fsPath, model);
  }
  return { model };
}

function documentSelector() {
  const config = vscode.workspace.getConfiguration('tenet');
  const selector = [{ scheme: 'file', language: 'tenet' }];
  if (config.get('yamlPolicies')) {
    // The server checks YAML files that are policies (`policy:`/`rules:`) or tests
    // (`*.test.yaml`), and leaves other YAML files alone.
    selector.push({ scheme: 'file', language: 'yaml' });
  }
  return selector;
}

async function start() {
  client = new LanguageClient('tenet', 'tenet', serverOptions(), {
    documentSelector: documentSelector(),
    initializationOptions: initializationOptions(),
  });
  await client.start();
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('tenet.restartServer', async () => {
      if (client) {
        await client.stop();
      }
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration('tenet') && client) {
        await client.stop();
        await start();
      }
    }),
  );
  try {
    await start();
  } catch (err) {
    vscode.window.showErrorMessage(
      `tenet: could not start \`${serverOptions().command} lsp\` (${err}). Set "tenet.path" to the tenet executable.`,
    );
  }
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
