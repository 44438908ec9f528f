/**
 * The sidebar tab's icon: four linked nodes (a small mesh), in the theme's icon colour.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M6 5.2 18 6.8l-.3 2-12-1.6zM5 7h2v10H5zM17 8h2v9h-2zM6.2 16.2l11-0.2v2l-11 .2z" opacity=".55"/>
    <circle cx="6" cy="6" r="3"/><circle cx="18" cy="7.5" r="3"/>
    <circle cx="6" cy="17.5" r="3"/><circle cx="18" cy="17" r="3"/>
  </g>
</svg>`;

export const meshIcon = new LabIcon({ name: 'meshlab:catalog', svgstr: svg });
