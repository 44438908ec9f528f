/**
 * The meshlab JupyterLab extension: the data mesh catalog in the left sidebar.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Clipboard, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

import { CatalogPanel } from './components/CatalogPanel';
import { HttpCatalogApi } from './handler';
import { meshIcon } from './icons';
import { CatalogModel } from './model';

const OPEN_COMMAND = 'meshlab:open-catalog';

/** Insert `model`'s cells below the active cell of the current notebook; false when none is open. */
function insertCells(app: JupyterFrontEnd, model: CatalogModel, notebooks: INotebookTracker | null): boolean {
  const panel = notebooks?.currentWidget;
  if (!panel) {
    return false;
  }
  const notebook = panel.content;
  const sources = notebook.widgets.map(cell => cell.model.sharedModel.getSource());
  for (const text of model.cellsToInsert(sources, panel.context.path)) {
    NotebookActions.insertBelow(notebook);
    NotebookActions.changeCellType(notebook, 'code');
    notebook.activeCell?.model.sharedModel.setSource(text);
  }
  app.shell.activateById(panel.id);
  return true;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'meshlab:catalog',
  description: 'The data mesh catalog in the left sidebar.',
  autoStart: true,
  optional: [INotebookTracker],
  activate: (app: JupyterFrontEnd, notebooks: INotebookTracker | null) => {
    const model = new CatalogModel(new HttpCatalogApi());
    const panel = new CatalogPanel(model, {
      insertCell: () => {
        if (!insertCells(app, model, notebooks)) {
          Notification.warning('Open a notebook first: the %%mesh cell goes below its active cell.', {
            autoClose: 4000
          });
        }
      },
      copyAddress: async address => Clipboard.copyToSystem(address)
    });
    panel.title.icon = meshIcon;
    app.shell.add(panel, 'left', { rank: 650 });
    app.commands.addCommand(OPEN_COMMAND, {
      label: 'Open the data mesh catalog',
      execute: () => {
        app.shell.activateById(panel.id);
        panel.focusSearch();
      }
    });
    void model.refresh();
  }
};

export default plugin;
