/** Table columns that several screens show the same way. */
import { Link } from '../lib/router';
import type { Column } from './table';

/**
 * An access key linking to its record. `truncate`: a long key gives way (the whole key in
 * the tooltip), so the columns after it stay in view at 1024 px.
 */
export function accessKeyColumn<T extends { ak: string }>({ truncate = false }: { truncate?: boolean } = {}): Column<T> {
  return {
    key: 'ak',
    header: 'Access key',
    render: (r) => (
      <Link to={`/records/${r.ak}`} className={truncate ? 'mono-sm cell-truncate' : 'mono-sm'} title={truncate ? r.ak : undefined}>
        {r.ak}
      </Link>
    ),
  };
}
