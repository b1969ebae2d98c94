import type { ReactNode } from 'react';
import { PageHeader } from '../ui/layout';
import { EmptyState } from '../ui/feedback';
import { ButtonLink } from '../ui/controls';
import type { IconName } from '../ui/icons';

/** A screen with nothing to show here, and the way back to the overview. */
function DeadEnd({ heading, icon, title, children }: { heading: string; icon: IconName; title: string; children: ReactNode }) {
  return (
    <>
      <PageHeader title={heading} />
      <EmptyState
        icon={icon}
        title={title}
        action={
          <ButtonLink href="#/overview" variant="primary">
            Go to the overview
          </ButtonLink>
        }
      >
        {children}
      </EmptyState>
    </>
  );
}

export function NotFoundScreen() {
  return (
    <DeadEnd heading="Page not found" icon="info" title="There is nothing at this address">
      The link may be out of date. Use the navigation on the left to find what you need.
    </DeadEnd>
  );
}

/** A screen the signed-in role may not use (support staff opening an administrators' screen). */
export function NotAllowedScreen() {
  return (
    <DeadEnd heading="Not available to support staff" icon="ban" title="Administrators only">
      Support accounts look up customers, run the re-identification desk and read tokens, access records and the audit log. Managing accounts, webhooks, the outbox and settings is for administrators.
    </DeadEnd>
  );
}
