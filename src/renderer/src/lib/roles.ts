/** The console's account screens, one per account role (contract §2). */
import { ROLES, type Role } from '../../../shared/vocabulary';
import type { IconName } from '../ui/icons';

export interface AccountKind {
  path: string;
  role: Role;
  title: string;
  singular: string;
  icon: IconName;
  description: string;
}

// `position` is the order of the navigation and the overview: organisations first, staff last.
const KIND_OF: Record<Role, Omit<AccountKind, 'role'> & { position: number }> = {
  data_user: { position: 1, path: 'data-users', title: 'Data users', singular: 'data user', icon: 'building', description: 'Organisations that register their access to smart-meter data. Each has a DUID.' },
  portal: { position: 2, path: 'portal-accounts', title: 'Portal accounts', singular: 'portal account', icon: 'globe', description: 'Transparency portals that let customers see, and withdraw, access to their meter point.' },
  dcc: { position: 3, path: 'dcc-accounts', title: 'DCC accounts', singular: 'DCC account', icon: 'antenna', description: 'The DCC reports discovered access and change-of-tenancy events.' },
  data_provider: { position: 4, path: 'data-providers', title: 'Data providers', singular: 'data provider', icon: 'database', description: 'Providers check access records before they release data.' },
  admin: { position: 5, path: 'administrators', title: 'Administrators', singular: 'administrator', icon: 'shield', description: 'SEC administrators who operate the register and use this console.' },
  support: {
    position: 6,
    path: 'support-staff',
    title: 'Support staff',
    singular: 'support account',
    icon: 'phone',
    description: 'Phone support: look up customers, run the re-identification desk and read the register. They cannot change accounts, records or settings.',
  },
};

export const ACCOUNT_KINDS: AccountKind[] = [...ROLES]
  .sort((a, b) => KIND_OF[a].position - KIND_OF[b].position)
  .map((role) => {
    const { position: _position, ...kind } = KIND_OF[role];
    return { role, ...kind };
  });

export function kindForRole(role: string): AccountKind {
  return ACCOUNT_KINDS.find((k) => k.role === role) ?? ACCOUNT_KINDS[0];
}
