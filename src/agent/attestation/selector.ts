/** A workload selector as registration entries hold it: `unix:uid:1000` is `{ type: 'unix', value: 'uid:1000' }`. */
export interface Selector {
  type: string;
  value: string;
}
