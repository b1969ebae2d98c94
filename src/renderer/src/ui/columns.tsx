/** Table columns that several screens show the same way. */
import { Link } from '../lib/router';
import type { Column } from './table';

/**
 * An access key linking to its record. `truncate`: a long key gives way (the whole key in
 * the tooltip), so the columns after it stay in view at 1024 px.
 */
export function accessKeyColumn<T extends { ak: string | null }>({ truncate = false }: { truncate?: boolean } = {}): Column<T> {
  return {
    key: 'ak',
    header: 'Access key',
    // A summary's ak is null only where a Data User lists others' records; staff lists carry every key.
    render: (r) =>
      r.ak === null ? (
        <span className="muted">—</span>
      ) : (
        <Link to={`/records/${r.ak}`} className={truncate ? 'mono-sm cell-truncate' : 'mono-sm'} title={truncate ? r.ak : undefined}>
          {r.ak}
        </Link>
      ),
  };
}
