import { PageHeader } from '../ui/layout';
import { EmptyState } from '../ui/feedback';
import { ButtonLink } from '../ui/controls';

export function NotFoundScreen() {
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState
        icon="info"
        title="There is nothing at this address"
        action={
          <ButtonLink href="#/overview" variant="primary">
            Go to the overview
          </ButtonLink>
        }
      >
        The link may be out of date. Use the navigation on the left to find what you need.
      </EmptyState>
    </>
  );
}

/** A screen the signed-in role may not use (support staff opening an administrators' screen). */
export function NotAllowedScreen() {
  return (
    <>
      <PageHeader title="Not available to support staff" />
      <EmptyState
        icon="ban"
        title="Administrators only"
        action={
          <ButtonLink href="#/overview" variant="primary">
            Go to the overview
          </ButtonLink>
        }
      >
        Support accounts look up customers, run the re-identification desk and read tokens, access records and the audit log. Managing accounts, webhooks, the outbox and settings is for administrators.
      </EmptyState>
    </>
  );
}
